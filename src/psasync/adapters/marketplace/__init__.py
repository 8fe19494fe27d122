"""The Cloud Marketplace (CloudBlue SimpleAPI) client."""
