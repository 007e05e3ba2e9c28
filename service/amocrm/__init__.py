"""The amoCRM adapter: webhook parsing, wire schemas, and (later) the API client."""
