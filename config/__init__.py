"""Settings read once from the environment (DESIGN §10)."""

from config.settings import Config, ConfigError, TestConfig, load_config

__all__ = ["Config", "ConfigError", "TestConfig", "load_config"]
