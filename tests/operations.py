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

POLICY_FIELDS = """
  id number insurer program status validFrom validTo relationship active coverageNotes phones
  insuredPerson { fullName birthDate }
"""

MY_POLICIES = f"""
query MyPolicies {{
  me {{
    policies {{ {POLICY_FIELDS} }}
    activePolicy {{ id number }}
    policyLookup {{ status hint }}
  }}
}}
"""

VERIFY_CONTACT_WITH_POLICIES = """
mutation VerifyContact($input: VerifyContactInput!) {
  verifyContact(input: $input) {
    __typename
    ... on ContactVerified { contact { value } linkedPolicies { number relationship active } }
    ... on Error { code message }
  }
}
"""

SELECT_POLICY = """
mutation Select($input: SelectPolicyInput!) {
  selectPolicy(input: $input) {
    __typename
    ... on User { activePolicy { number } }
    ... on Error { code }
  }
}
"""

REVOKE_CARD_LINKS = """
mutation RevokeCardLinks($input: RevokeCardLinksInput!) {
  revokeCardLinks(input: $input) {
    __typename
    ... on CardLinksRevoked { revokedAt policies { number } }
    ... on Error { code message }
  }
}
"""

UPDATE_POLICY_PHONES = """
mutation UpdatePhones($input: UpdatePolicyPhonesInput!) {
  updatePolicyPhones(input: $input) {
    __typename
    ... on Policy { number phones }
    ... on Error { code }
    ... on InputError { fields { field code } }
  }
}
"""

FIND_POLICIES = """
query Find($search: String!, $first: Int, $after: String) {
  findPolicies(search: $search, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id number phones insuredPerson { fullName } } }
  }
}
"""

BENEFIT_FIELDS = """
  kind limit { amount count } used { amount count } remaining { amount count }
  period periodStart periodEnd copaymentPercent waitingPeriodDays waitingPeriodEnds notes
"""

MY_COVERAGE = f"""
query MyCoverage {{
  me {{ policies {{ coverage {{ {BENEFIT_FIELDS} }} }} }}
}}
"""

COVERAGE_CHECK_FIELDS = f"""
  verdict reason message kind checkedOn amount coveredAmount memberShare
  benefit {{ {BENEFIT_FIELDS} }}
  remainingAfter {{ amount count }}
"""

COVERAGE_CHECK = f"""
query CoverageCheck($policyId: ID!, $kind: String!, $amount: String) {{
  coverageCheck(policyId: $policyId, kind: $kind, amount: $amount) {{
    __typename
    ... on CoverageCheck {{ {COVERAGE_CHECK_FIELDS} }}
    ... on Error {{ code message }}
    ... on InputError {{ fields {{ field code message }} }}
  }}
}}
"""

CREATE_REQUEST_COVERAGE = f"""
mutation CreateChecked($input: CreateRequestInput!) {{
  createRequest(input: $input) {{
    __typename
    ... on Request {{ number coverageCheck {{ {COVERAGE_CHECK_FIELDS} }} }}
    ... on Error {{ code message }}
  }}
}}
"""

IMPORT_POLICIES = """
mutation Import($file: Upload!) {
  importPolicies(input: {file: $file}) {
    __typename
    ... on ImportReport {
      created updated rejected { field code message } programmesCreated programmesUpdated
    }
    ... on InputError { fields { field code } }
  }
}
"""

PROVIDER_FIELDS = """
  id code kind name city address phones specialties programmes
  openingHours { day opens closes }
  location { lat lon }
"""

PROVIDERS = f"""
query Providers($filter: ProviderFilter, $first: Int, $after: String) {{
  providers(filter: $filter, first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage endCursor }}
    edges {{ cursor distanceKm node {{ {PROVIDER_FIELDS} }} }}
  }}
}}
"""

IMPORT_PROVIDERS = """
mutation ImportProviders($file: Upload!) {
  importProviders(input: {file: $file}) {
    __typename
    ... on ImportReport { created updated rejected { field code message } }
    ... on InputError { fields { field code } }
  }
}
"""

REQUEST_FIELDS = """
  id number kind status createdAt updatedAt
  policy { number }
  history { status comment byOperator }
  comments { text byOperator attachments { filename contentType size url } }
  attachments { id filename contentType size url }
  details {
    __typename
    ... on DoctorAppointmentDetails {
      specialty reason homeVisit scheduledAt preferredTimes { from to } address { city }
      provider { name }
    }
    ... on MedicationsDetails {
      items { name dosage quantity } deliveryAddress { city } comment provider { name }
    }
    ... on LabTestsDetails {
      tests homeVisit preferredTimes { from to } address { city } provider { name }
    }
    ... on ReimbursementDetails { amount currency serviceDate description iban }
    ... on CallbackDetails { phone topic preferredTime { from to } }
  }
"""

REQUEST_RESULT = f"""
    __typename
    ... on Request {{ {REQUEST_FIELDS} }}
    ... on Error {{ code message }}
    ... on InputError {{ fields {{ field code message }} }}
"""

CREATE_REQUEST = f"""
mutation Create($input: CreateRequestInput!, $key: String) {{
  createRequest(input: $input, idempotencyKey: $key) {{ {REQUEST_RESULT} }}
}}
"""

CHANGE_STATUS = f"""
mutation Change($input: ChangeRequestStatusInput!) {{
  changeRequestStatus(input: $input) {{ {REQUEST_RESULT} }}
}}
"""

CANCEL_REQUEST = f"""
mutation Cancel($input: CancelRequestInput!) {{
  cancelRequest(input: $input) {{ {REQUEST_RESULT} }}
}}
"""

ADD_COMMENT = f"""
mutation Comment($input: AddCommentInput!) {{
  addComment(input: $input) {{ {REQUEST_RESULT} }}
}}
"""

ASSIGN_REQUEST = f"""
mutation Assign($input: AssignRequestInput!) {{
  assignRequest(input: $input) {{
    {REQUEST_RESULT}
    ... on Request {{ assignee {{ firstName user {{ email }} }} }}
  }}
}}
"""

RECORD_CALL_ATTEMPT = f"""
mutation CallAttempt($input: RecordCallAttemptInput!) {{
  recordCallAttempt(input: $input) {{ {REQUEST_RESULT} }}
}}
"""

UPLOAD_LAB_RESULTS = f"""
mutation LabResults($input: UploadLabResultsInput!) {{
  uploadLabResults(input: $input) {{ {REQUEST_RESULT} }}
}}
"""

RECORD_PAYOUT = f"""
mutation Payout($input: RecordPayoutInput!) {{
  recordPayout(input: $input) {{ {REQUEST_RESULT} }}
}}
"""

ADD_INTERNAL_NOTE = f"""
mutation InternalNote($requestId: ID!, $text: String!) {{
  addComment(input: {{requestId: $requestId, text: $text, internal: true}}) {{ {REQUEST_RESULT} }}
}}
"""

MY_REQUESTS = """
query MyRequests($first: Int, $after: String, $filter: RequestFilter) {
  me {
    requests(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { number kind status policy { number } } }
    }
  }
}
"""

REQUEST_QUEUE = """
query Queue($first: Int, $after: String, $filter: RequestFilter) {
  requestQueue(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        number status
        policy { number }
        applicant { email }
        history { status at }
        attachments { filename url }
      }
    }
  }
}
"""

DUE_QUEUE = """
query DueQueue($first: Int, $after: String, $filter: RequestFilter, $orderBy: RequestOrder) {
  requestQueue(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { number kind status dueAt overdue } }
  }
}
"""

QUEUE_COUNTS = """
query QueueCounts {
  queueCounts {
    limit
    byStatus { status count }
    byKind { kind count }
    overdue
    assignedToMe
  }
}
"""

EXPORT_MY_DATA = "mutation Export { exportMyData { json files { filename contentType size url } } }"

DELETE_ACCOUNT = """
mutation Delete($input: DeleteAccountInput!) {
  deleteAccount(input: $input) {
    __typename
    ... on Accepted { message }
    ... on Error { code message }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""

SECURITY_EVENTS = """
query Events($first: Int, $after: String, $filter: SecurityEventFilter) {
  securityEvents(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id at action actorId actorRole subjectId targetType targetId before after
        ip userAgent requestId
        actor { email }
        subject { email }
      }
    }
  }
}
"""

PASSWORD_POLICY = "query PasswordPolicy { passwordPolicy { minLength } }"

NODE = "query Node($id: ID!) { node(id: $id) { __typename id } }"

REFRESH_POLICIES = """
mutation Refresh {
  refreshPolicies {
    __typename
    ... on User { policies { number } }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""

UPDATE_NOTIFICATION_SETTINGS = """
mutation Notifications($input: NotificationSettingsInput!) {
  updateNotificationSettings(input: $input) {
    __typename
    ... on User { notificationSettings { sms email } }
    ... on InputError { code fields { field code } }
  }
}
"""

REQUEST_UPDATED = """subscription($id: ID) {
  requestUpdated(requestId: $id) { previousStatus at request { number status } }
}"""

REQUEST_QUEUE_UPDATED = (
    "subscription { requestQueueUpdated { previousStatus request { number status } } }"
)

ENUM_LABELS = """
query EnumLabels {
  enumLabels { requestStatus { value label } requestKind { value label } }
}
"""
