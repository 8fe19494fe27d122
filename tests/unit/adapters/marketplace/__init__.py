"""Pure parts of the Cloud Marketplace client: mapping, tokens, paging, error mapping."""
