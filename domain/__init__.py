"""Pure domain model of Conduit Config: areas, the ConfigEntry aggregate, value rules."""
