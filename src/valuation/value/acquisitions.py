"""Value of future acquisitions (customer-based corporate valuation), off by default.

When ``deal.acquisitions`` is given in params, the buyer also values the customers the
business will acquire (Gupta, Lehmann & Stuart 2004, "Valuing customers", *JMR* 41(1);
McCarthy, Fader & Hardie 2017, "Valuing subscription-based businesses using publicly
disclosed customer data", *J. Marketing* 81(1)): every year ``y`` of ``years``,
``customers_per_year`` new customers, each worth the CLV of a new customer minus the cost
of acquiring it, the cohort discounted to ``as_of`` from the middle of its year (customers
arrive through the year):

    value = sum_y N_y (CLV_new - cost) (1 + rate)^-(y + 1/2)

``CLV_new`` = margin x (first purchase + the purchase model's expected repeat purchases of a
new customer, discounted, over the horizon from acquisition) x the population mean spend;
a membership stream adds the fee times the sBG survival of a new member (each stream
weighted by the share of today's customers in it; see
:meth:`valuation.value.equity.CustomerBase.new_customer_value`). A fractional last year
counts its share of customers. New customers are acquired by the new owner: no
change-of-owner attrition, no consent gap, no data-quality haircut.

The result is an assumption, not a value of existing customers: the bridge shows it as a
separate line after the value of the transferable base, labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuation.units import discount_factors
from valuation.value.assumptions import Assumptions

LABEL = "future acquisitions (assumption, not existing customers)"


@dataclass(frozen=True)
class AcquisitionValue:
    """The value of future acquisitions and how it was built.

    Attributes
    ----------
    value : float
        Present value at ``as_of`` (CNY).
    clv_new_customer : float
        Margin value of one new customer over the horizon (at acquisition).
    cost_per_customer : float
    table : DataFrame
        Per acquisition year: ``year, customers, net_value_per_customer, discount_factor,
        present_value``.
    label : str
    """

    value: float
    clv_new_customer: float
    cost_per_customer: float
    table: pd.DataFrame
    label: str = LABEL

    def to_dict(self) -> dict:
        """JSON-ready mapping."""
        return {"value": self.value, "label": self.label,
                "clv_new_customer": self.clv_new_customer,
                "cost_per_customer": self.cost_per_customer,
                "years": self.table.to_dict(orient="records")}


def acquisition_value(clv_new_customer: float, acquisitions, assumptions: Assumptions
                      ) -> AcquisitionValue:
    """Present value of the acquisitions of ``acquisitions`` (``AcquisitionParams``).

    Parameters
    ----------
    clv_new_customer : float
        Margin value of one new customer at acquisition
        (:meth:`~valuation.value.equity.CustomerBase.new_customer_value`).
    acquisitions : AcquisitionParams
        ``customers_per_year``, ``cost_per_customer``, ``years``.
    assumptions : Assumptions
        For the discount rate.
    """
    years = float(acquisitions.years)
    whole = int(np.floor(years))
    shares = [1.0] * whole + ([years - whole] if years - whole > 1e-12 else [])
    rows = []
    net = float(clv_new_customer) - float(acquisitions.cost_per_customer)
    for y, share in enumerate(shares):
        customers = float(acquisitions.customers_per_year) * share
        factor = float(discount_factors(y + share / 2, assumptions.annual_discount_rate))
        rows.append({"year": y + 1, "customers": customers, "net_value_per_customer": net,
                     "discount_factor": factor, "present_value": customers * net * factor})
    table = pd.DataFrame(rows)
    return AcquisitionValue(value=float(table["present_value"].sum()),
                            clv_new_customer=float(clv_new_customer),
                            cost_per_customer=float(acquisitions.cost_per_customer), table=table)
