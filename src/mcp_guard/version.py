"""The package's version, in a module of its own so the modules that report it (the MCP server's
`serverInfo`, the OpenAPI document, the tracer) need not import the package, which imports the gateway."""

__version__ = "0.1.0"
