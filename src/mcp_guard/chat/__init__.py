"""The chat side of the gateway: `POST /v1/chat/completions` forwarding to OpenAI-compatible providers, with
the caller's tools injected, manual and agent mode, confirmation of destructive tools, and token governance;
and upstreams' sampling answered by the same providers, governed the same way.

    config.py         settings (`llm`, `agent`, `confirmations`, `sampling` in the YAML)
    providers.py      `provider/model` routing and the HTTP calls upstream
    request.py        the request body, and the tools injected into it
    tokens.py         token estimates and token rate limits (the `limits` library)
    spend.py          LLM cost reserved and settled on the budget ledger (customer → team → key + provider)
    metering.py       one governed model turn: token limit → budget → provider → audit → settle
    sampling.py       an upstream's `sampling/createMessage` as a metered turn of the call that caused it
    auto.py           which tool calls agent mode may run unasked
    execution.py      running one turn's auto calls in parallel through `Gateway.call`
    agent.py          the agent loop and its answer (summed usage, the `mcp_guard` extension)
    relay.py          manual-mode streaming, relayed chunk by chunk
    sse.py            server-sent events, and a whole answer as stream chunks (agent mode)
    service.py        what lives between requests: provider clients, the token limiter (`gateway.chat`)
    confirmations.py  the confirmation stage of the pipeline and its store
    endpoint.py       the ASGI handler

Nothing here is imported by `mcp_guard.config` except `config.py`, which imports no other module of this
package.
"""
