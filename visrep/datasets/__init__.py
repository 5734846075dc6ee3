"""Dataset tools shared by the plugins."""
