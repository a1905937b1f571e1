# -*- coding: latin-1 -*-
"""Payroll CSV export for the accounting office (their importer only reads Latin-1)."""

import csv

from hr.models import Employee

HEADER = ["Nom", "Prénom", "Intitulé du poste", "Date d'entrée"]
SEPARATOR = ";"  # Excel in the Zürich office expects semicolons


def export_payroll(tenant_id, path):
    """Write the tenant's employees to ``path`` encoded as Latin-1 (« ISO-8859-1 »)."""
    with open(path, "w", encoding="latin-1", errors="replace", newline="") as fh:
        writer = csv.writer(fh, delimiter=SEPARATOR)
        writer.writerow(HEADER)
        for employee in Employee.objects.filter(tenant_id=tenant_id):
            hired = employee.hired_on.strftime("%d.%m.%Y") if employee.hired_on else "-"
            writer.writerow([employee.last_name, employee.first_name, employee.job_title, hired])
