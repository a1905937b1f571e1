"""One-off import of suppliers from the old Access export.

Run with: python manage.py shell < scripts/broken_import.py
"""

import csv
import sys

from purchasing.models import Supplier


def run(path, tenant_id):
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
<<<<<<< HEAD
            Supplier.objects.create(tenant_id=tenant_id, name=row["name"], contact_email=row["email"])
=======
            Supplier.objects.get_or_create(tenant_id=tenant_id, name=row["Name"],
                                           defaults={"contact_email": row["E-Mail"]})
>>>>>>> feature/access-import


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
