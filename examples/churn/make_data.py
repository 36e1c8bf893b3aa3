#!/usr/bin/env python3
"""Write the bundled churn example: train.csv and validation.csv in SageMaker's CSV layout
(label first, no header). Deterministic (random.Random(7)), standard library only.

Columns: churned, tenure_months, monthly_charges, support_calls, contract (0 monthly,
1 one year, 2 two years), paperless_billing, age, data_gb.
"""
import math
import os
import random

r = random.Random(7)
here = os.path.dirname(os.path.abspath(__file__))


def row():
    tenure = r.randint(1, 72)
    contract = r.choices([0, 1, 2], weights=[55, 25, 20])[0]
    monthly = round(r.uniform(18, 118), 2)
    calls = min(int(r.expovariate(0.7)), 9)
    paperless = 1 if r.random() < 0.6 else 0
    age = r.randint(18, 85)
    data_gb = round(r.lognormvariate(2.0, 0.8), 1)
    z = (-1.2 - 0.045 * tenure + 0.022 * monthly + 0.45 * calls - 1.1 * contract
         + 0.35 * paperless - 0.01 * (age - 45) + r.gauss(0, 0.6))
    churned = 1 if r.random() < 1 / (1 + math.exp(-z)) else 0
    return [churned, tenure, monthly, calls, contract, paperless, age, data_gb]


for name, n in (("train.csv", 3000), ("validation.csv", 1000)):
    with open(os.path.join(here, name), "w") as f:
        for _ in range(n):
            f.write(",".join(str(v) for v in row()) + "\n")
