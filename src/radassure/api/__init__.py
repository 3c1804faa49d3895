"""JSON API: the FastAPI application factory, routes and schemas."""

from radassure.api.app import create_app

__all__ = ["create_app"]
