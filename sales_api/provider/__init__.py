"""The payment provider's adapters: the simulated provider with its ledger, and the time
limit every call to a provider runs under."""
