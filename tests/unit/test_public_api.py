import mcp_guard


def test_public_surface_is_importable_from_the_package():
    for name in mcp_guard.__all__:
        assert getattr(mcp_guard, name) is not None, name
