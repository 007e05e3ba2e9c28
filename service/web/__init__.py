"""Thin HTTP edges: parse, call one service, answer."""
from flask import current_app

from service.deps import Deps


def deps() -> Deps:
    """The dependencies the app was built with."""
    return current_app.extensions["deps"]
