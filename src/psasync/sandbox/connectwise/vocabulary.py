"""ConnectWise's own enumerations, as its API documents them (reference/connectwise-api.md).

The emulator keeps its own copy rather than borrowing psasync's domain types: it stands for the
vendor, and must not change when psasync's reading of the vendor does.
"""

from __future__ import annotations

from enum import StrEnum


class AgreementStatus(StrEnum):
    ACTIVE = "Active"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"
    INACTIVE = "Inactive"


class BillCustomer(StrEnum):
    BILLABLE = "Billable"
    DO_NOT_BILL = "DoNotBill"
    NO_CHARGE = "NoCharge"


class ProductClass(StrEnum):
    AGREEMENT = "Agreement"
    BUNDLE = "Bundle"
    INVENTORY = "Inventory"
    NON_INVENTORY = "NonInventory"
    SERVICE = "Service"
