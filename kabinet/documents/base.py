"""The base of every document: Beanie's, with attributes read as any object's."""

from collections.abc import Callable
from typing import Any, NoReturn

import beanie
from pydantic._internal._model_construction import init_private_attributes
from pydantic_core import PydanticUndefined

# Defaults pydantic would deep-copy to the same value.
_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)


class Document(beanie.Document):
    """Beanie's documents are lazy_model's `LazyModel`s, whose `__getattribute__` runs in
    Python on every attribute read to find fields a lazy parse left unparsed. kabinet
    parses each document whole when it reads it, so its documents read attributes as any
    object does (a `me` reads some 370), and a lazy parse, whose unparsed fields would
    now read as placeholders, is refused.

    Each document read also sets its private attributes (Beanie's saved state and the
    like): pydantic wraps that setting once per class of the hierarchy, so a document
    went through four wrappers, each looking up and copying every default again.
    A document's `model_post_init` sets them in one step instead, when setting them is
    all the wrappers do (`private_defaults_setter`)."""

    __getattribute__ = object.__getattribute__

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if (setter := private_defaults_setter(cls)) is not None:
            cls.model_post_init = setter  # type: ignore[method-assign]

    @classmethod
    def lazy_parse(cls, data: dict[str, Any], fields: set[str] | None = None) -> NoReturn:
        raise TypeError(f"{cls.__name__} is parsed whole: find it without lazy_parse")


def private_defaults_setter(model: type[beanie.Document]) -> Callable[..., None] | None:
    """What pydantic's `model_post_init` of ``model`` does, in one step: None unless it
    only sets private defaults (no post-init of the model's own), each immutable or made
    by a factory that takes no data."""
    post_init: Any = model.model_post_init
    while post_init is not init_private_attributes:
        if getattr(post_init, "__name__", None) != init_private_attributes.__name__ or (
            post_init.__code__.co_name != "wrapped_model_post_init"
        ):
            return None
        post_init = post_init.__wrapped__
    template: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, attribute in model.__private_attributes__.items():
        if attribute.default_factory is not None:
            if attribute.default_factory_takes_validated_data:
                return None
            template[name] = None  # in pydantic's order
            factories.append((name, attribute.default_factory))  # type: ignore[arg-type]
        elif attribute.default is not PydanticUndefined:
            if type(attribute.default) not in _IMMUTABLE:
                return None
            template[name] = attribute.default

    def model_post_init(self: beanie.Document, context: Any, /) -> None:
        if getattr(self, "__pydantic_private__", None) is None:
            private = template.copy()
            for name, factory in factories:
                private[name] = factory()
            object.__setattr__(self, "__pydantic_private__", private)

    return model_post_init
