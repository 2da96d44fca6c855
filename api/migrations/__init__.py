"""Schema migrations (tortoise-orm's own): one file per schema change, applied in order by every node at start
and by ``chargeops migrate``. Write a new one with
``python -m tortoise -c api.core.db.TORTOISE_ORM makemigrations --name <what_changed>``."""
