"""OCPP 2.0.1 charging-station agent (provisioning block B01-B12)."""
