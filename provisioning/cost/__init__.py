"""Cost: what the platform's environments cost so far this month, where the month is heading, and what
a deployment would add.

    base       CostRow, Forecast, CostError and the CostBackend protocol
    azure      AzureCost: Azure Cost Management (query.usage, forecast.usage), paged and throttle-aware
    sandbox    SandboxCost: deterministic made-up cost data from the design document's tables
    catalogue  PriceCatalogue: monthly prices by resource type and SKU, estimates of templates,
               refresh from the Azure Retail Prices API

Nothing here imports Django. Importing this package does not import the Azure SDK.
"""

from provisioning.cost.base import AGENT_TAG, CostBackend, CostError, CostRow, Forecast

__all__ = ["AGENT_TAG", "CostBackend", "CostError", "CostRow", "Forecast"]
