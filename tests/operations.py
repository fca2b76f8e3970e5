"""The GraphQL documents a frontend sends, shared by the tests."""

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    __typename
    ... on RegisterSuccess { message }
    ... on Error { code message }
    ... on InputError { fields { field code message } }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""

AUTH_RESULT = """
    __typename
    ... on AuthSuccess { token expiresAt user { id email emailConfirmed role locale } }
    ... on Error { code message }
    ... on InputError { fields { field code message } }
    ... on RateLimited { retryAfterSeconds }
"""

CONFIRM_EMAIL = f"""
mutation ConfirmEmail($input: ConfirmEmailInput!) {{
  confirmEmail(input: $input) {{ {AUTH_RESULT} }}
}}
"""

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on AuthSuccess { token expiresAt user { id email emailConfirmed role locale } }
    ... on Error { code message }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""

RESET_PASSWORD = f"""
mutation ResetPassword($input: ResetPasswordInput!) {{
  resetPassword(input: $input) {{ {AUTH_RESULT} }}
}}
"""

ACCEPTED_RESULT = """
    __typename
    ... on Accepted { message }
    ... on Error { code message }
    ... on InputError { fields { field code message } }
    ... on RateLimited { retryAfterSeconds }
"""

RESEND_CONFIRMATION = f"""
mutation Resend($input: ResendConfirmationInput!) {{
  resendConfirmation(input: $input) {{ {ACCEPTED_RESULT} }}
}}
"""

REQUEST_PASSWORD_RESET = f"""
mutation RequestReset($input: RequestPasswordResetInput!) {{
  requestPasswordReset(input: $input) {{ {ACCEPTED_RESULT} }}
}}
"""

CHANGE_PASSWORD = f"""
mutation ChangePassword($input: ChangePasswordInput!) {{
  changePassword(input: $input) {{ {ACCEPTED_RESULT} }}
}}
"""

ME = """
query Me {
  me { id email emailConfirmed role locale createdAt sessions { id current userAgent } }
}
"""

LOGOUT = "mutation { logout }"
LOGOUT_EVERYWHERE = "mutation { logoutEverywhere }"
