"""ChargeOps: operations platform for EV charging piles and battery-swap stations.

Importing ``api`` starts nothing; ``api.app.create_app`` builds the service and ``api.cli`` runs it.
"""

__version__ = "0.1.0"
