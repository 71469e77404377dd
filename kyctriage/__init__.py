"""kyctriage: forensic triage of leaked KYC photo sets."""

__version__ = "0.1.0"
