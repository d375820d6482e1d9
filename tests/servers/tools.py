"""In-process tools a configuration file names by `target` (`tests.servers.tools:calc`)."""

from tests.integration.gateway_fixtures import make_tools

calc = make_tools()
