"""The built-in offline chat model: the studio's default LLM when no Ollama is configured."""

from adapters.offline.model import OfflineChatModel

__all__ = ["OfflineChatModel"]
