"""Settings read once from the environment (docs/configuration.md)."""

from config.settings import Config, ConfigError, TestConfig, load_config

__all__ = ["Config", "ConfigError", "TestConfig", "load_config"]
