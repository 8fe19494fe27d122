"""The entities the emulator serves: their fields (for queries and ``entityInformation``) and
what each supports (create, update, query, delete).

A field's ``kind`` drives filtering: numbers compare as ``Decimal``, dates as days, strings
case-insensitively (SQL Server's default collation), booleans as booleans.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from psasync.sandbox.autotask import picklists as pl


class Kind(StrEnum):
    INTEGER = "integer"
    LONG = "long"
    DECIMAL = "decimal"
    DOUBLE = "double"
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "datetime"

    @property
    def numeric(self) -> bool:
        return self in {Kind.INTEGER, Kind.LONG, Kind.DECIMAL, Kind.DOUBLE}


@dataclass(frozen=True)
class FieldInfo:
    name: str
    kind: Kind
    required: bool = False
    read_only: bool = False
    length: int = 0
    reference: str | None = None
    picklist: pl.Picklist | None = None

    def to_json(self) -> dict[str, object]:
        values = self.picklist.values if self.picklist else ()
        default = self.picklist.default if self.picklist else None
        return {
            "name": self.name,
            "dataType": self.kind.value,
            "length": self.length,
            "isRequired": self.required,
            "isReadOnly": self.read_only,
            "isQueryable": True,
            "isReference": self.reference is not None,
            "referenceEntityType": self.reference or "",
            "isPickList": self.picklist is not None,
            # Autotask writes picklist values as strings; entities carry them as integers.
            "picklistValues": [
                {
                    "value": str(value),
                    "label": label,
                    "isDefaultValue": label == default,
                    "sortOrder": order,
                    "parentValue": "",
                    "isActive": True,
                    "isSystem": True,
                }
                for order, (value, label) in enumerate(values)
            ]
            if self.picklist
            else None,
            "picklistParentValueField": "",
            "isSupportedWebhookField": False,
        }


@dataclass(frozen=True)
class Entity:
    name: str
    fields: tuple[FieldInfo, ...]
    can_create: bool = False
    can_update: bool = False
    can_query: bool = True
    can_delete: bool = False

    def field(self, name: str) -> FieldInfo | None:
        """The field called ``name`` (Autotask reads field names case-insensitively)."""
        lowered = name.lower()
        return next((f for f in self.fields if f.name.lower() == lowered), None)

    def info_json(self) -> dict[str, object]:
        return {
            "info": {
                "name": self.name[:-1] if self.name.endswith("s") else self.name,
                "canCreate": self.can_create,
                "canUpdate": self.can_update,
                "canQuery": self.can_query,
                "canDelete": self.can_delete,
                "hasUserDefinedFields": False,
                "supportsWebhookCallouts": False,
                "userAccessForCreate": "Allowed" if self.can_create else "None",
                "userAccessForDelete": "Allowed" if self.can_delete else "None",
                "userAccessForQuery": "Allowed" if self.can_query else "None",
                "userAccessForUpdate": "Allowed" if self.can_update else "None",
            }
        }


INT, L, D, S, B, T = Kind.INTEGER, Kind.LONG, Kind.DECIMAL, Kind.STRING, Kind.BOOLEAN, Kind.DATETIME


def _id() -> FieldInfo:
    return FieldInfo("id", L, required=True, read_only=True)


COMPANIES = Entity(
    "Companies",
    (
        _id(),
        FieldInfo("companyName", S, required=True, length=100),
        FieldInfo("companyNumber", S, length=50),
        FieldInfo("companyType", INT, required=True, picklist=pl.COMPANY_TYPE),
        FieldInfo("isActive", B),
        FieldInfo("currencyID", INT, reference="Currency"),
        FieldInfo("parentCompanyID", INT, reference="Company"),
    ),
    can_create=True,
    can_update=True,
)
CURRENCIES = Entity(
    "Currencies",
    (
        _id(),
        FieldInfo("name", S, required=True, read_only=True, length=3),
        FieldInfo("description", S, length=100),
        FieldInfo("exchangeRate", D),
        FieldInfo("isInternalCurrency", B, read_only=True),
        FieldInfo("isActive", B),
    ),
    can_update=True,
)
SERVICES = Entity(
    "Services",
    (
        _id(),
        FieldInfo("name", S, required=True, length=150),
        FieldInfo("description", S, length=400),
        FieldInfo("invoiceDescription", S, length=1000),
        FieldInfo("unitPrice", D),
        FieldInfo("unitCost", D),
        FieldInfo("periodType", INT, required=True, picklist=pl.SERVICE_PERIOD_TYPE),
        FieldInfo("sku", S, length=50),
        FieldInfo("catalogNumberPartNumber", S, length=50),
        FieldInfo("manufacturerServiceProvider", S, length=100),
        FieldInfo("manufacturerServiceProviderProductNumber", S, length=100),
        FieldInfo("vendorCompanyID", INT, reference="Company"),
        FieldInfo("isActive", B),
    ),
    can_create=True,
    can_update=True,
)
CONTRACTS = Entity(
    "Contracts",
    (
        _id(),
        FieldInfo("contractName", S, required=True, length=100),
        FieldInfo("contractNumber", S, length=50),
        FieldInfo("companyID", INT, required=True, reference="Company"),
        FieldInfo("contractType", INT, required=True, picklist=pl.CONTRACT_TYPE),
        FieldInfo("status", INT, required=True, picklist=pl.CONTRACT_STATUS),
        FieldInfo("contractPeriodType", INT, picklist=pl.CONTRACT_PERIOD_TYPE),
        FieldInfo("billingPreference", INT, picklist=pl.BILLING_PREFERENCE),
        FieldInfo("startDate", T, required=True),
        FieldInfo("endDate", T, required=True),
        FieldInfo("description", S, length=2000),
        FieldInfo("purchaseOrderNumber", S, length=50),
        FieldInfo("isDefaultContract", B),
    ),
    can_create=True,
    can_update=True,
)
CONTRACT_SERVICES = Entity(
    "ContractServices",
    (
        _id(),
        FieldInfo("contractID", INT, required=True, reference="Contract"),
        FieldInfo("serviceID", INT, required=True, reference="Service"),
        FieldInfo("unitPrice", D),
        FieldInfo("unitCost", D),
        FieldInfo("adjustedPrice", D),
        FieldInfo("internalCurrencyUnitPrice", D, read_only=True),
        FieldInfo("internalCurrencyAdjustedPrice", D, read_only=True),
        FieldInfo("invoiceDescription", S, length=1000),
        FieldInfo("internalDescription", S, length=1000),
        FieldInfo("quoteItemID", L, reference="QuoteItem"),
    ),
    can_create=True,
    can_update=True,
)
CONTRACT_SERVICE_ADJUSTMENTS = Entity(
    "ContractServiceAdjustments",
    (
        _id(),
        FieldInfo("contractID", INT, reference="Contract"),
        FieldInfo("contractServiceID", L, reference="ContractService"),
        FieldInfo("serviceID", INT, reference="Service"),
        FieldInfo("effectiveDate", T, required=True),
        FieldInfo("unitChange", INT, required=True),
        FieldInfo("adjustedUnitPrice", D),
        FieldInfo("adjustedUnitCost", D),
        FieldInfo("allowRepeatService", B),
        FieldInfo("quoteItemID", L, reference="QuoteItem"),
    ),
    can_create=True,
    can_query=False,
)
CONTRACT_SERVICE_UNITS = Entity(
    "ContractServiceUnits",
    (
        _id(),
        FieldInfo("contractID", INT, read_only=True, reference="Contract"),
        FieldInfo("contractServiceID", L, read_only=True, reference="ContractService"),
        FieldInfo("serviceID", INT, read_only=True, reference="Service"),
        FieldInfo("startDate", T, read_only=True),
        FieldInfo("endDate", T, read_only=True),
        FieldInfo("units", INT, read_only=True),
        FieldInfo("price", D, read_only=True),
        FieldInfo("cost", D, read_only=True),
        FieldInfo("internalCurrencyPrice", D, read_only=True),
        FieldInfo("approveAndPostDate", T, read_only=True),
        FieldInfo("vendorCompanyID", INT, read_only=True, reference="Company"),
    ),
)
CONTRACT_CHARGES = Entity(
    "ContractCharges",
    (
        _id(),
        FieldInfo("contractID", INT, required=True, reference="Contract"),
        FieldInfo("name", S, required=True, length=100),
        FieldInfo("description", S, length=2000),
        FieldInfo("datePurchased", T, required=True),
        FieldInfo("unitQuantity", D, required=True),
        FieldInfo("unitPrice", D),
        FieldInfo("unitCost", D),
        FieldInfo("extendedCost", D, read_only=True),
        FieldInfo("isBillableToCompany", B),
        FieldInfo("isBilled", B, read_only=True),
    ),
    can_create=True,
    can_update=True,
    can_delete=True,
)

ENTITIES: dict[str, Entity] = {
    entity.name.lower(): entity
    for entity in (
        COMPANIES,
        CURRENCIES,
        SERVICES,
        CONTRACTS,
        CONTRACT_SERVICES,
        CONTRACT_SERVICE_ADJUSTMENTS,
        CONTRACT_SERVICE_UNITS,
        CONTRACT_CHARGES,
    )
}


def entity(name: str) -> Entity | None:
    """The entity behind a URL segment (Autotask's routes are case-insensitive)."""
    return ENTITIES.get(name.lower())
