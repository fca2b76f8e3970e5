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

PROFILE = """
query Profile {
  me {
    locale
    profile { lastName firstName middleName gender birthDate complete }
    contacts { id kind value verified verifiedAt primary }
    addresses { id kind city street building apartment postalCode region note }
  }
}
"""

UPDATE_PROFILE = """
mutation UpdateProfile($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    __typename
    ... on User { locale profile { lastName firstName middleName gender birthDate complete } }
    ... on InputError { code message fields { field code message } }
  }
}
"""

ADD_CONTACT = """
mutation AddContact($input: AddContactInput!) {
  addContact(input: $input) {
    __typename
    ... on Contact { id kind value verified primary }
    ... on Error { code message }
    ... on InputError { fields { field code message } }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""

VERIFY_CONTACT = """
mutation VerifyContact($input: VerifyContactInput!) {
  verifyContact(input: $input) {
    __typename
    ... on ContactVerified { contact { id value verified verifiedAt primary } }
    ... on Error { code message }
    ... on InvalidCode { attemptsLeft }
    ... on InputError { fields { field code message } }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""

RESEND_CONTACT_CODE = """
mutation Resend($input: ResendContactCodeInput!) {
  resendContactCode(input: $input) {
    __typename
    ... on Contact { id }
    ... on Error { code message }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""

REMOVE_CONTACT = """
mutation RemoveContact($input: RemoveContactInput!) {
  removeContact(input: $input) {
    __typename
    ... on User { contacts { id value } }
    ... on Error { code message }
  }
}
"""

SET_ADDRESS = """
mutation SetAddress($input: AddressInput!) {
  setAddress(input: $input) {
    __typename
    ... on Address { id kind city street building apartment postalCode region note }
    ... on InputError { code fields { field code message } }
  }
}
"""

REMOVE_ADDRESS = """
mutation RemoveAddress($input: RemoveAddressInput!) {
  removeAddress(input: $input) {
    __typename
    ... on User { addresses { id kind } }
    ... on Error { code }
  }
}
"""
