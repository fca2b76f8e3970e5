"""Who an account is: a light module, so the command line can name roles without loading
the database layer."""

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"
    ADMIN = "admin"


# The contact centre: may see and process every person's requests and cards.
STAFF_ROLES = (Role.OPERATOR, Role.ADMIN)
