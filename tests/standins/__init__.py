"""Local servers that speak the HTTP APIs of outside services, for the real SDKs to talk to."""
