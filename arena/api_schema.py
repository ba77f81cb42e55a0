"""The OpenAPI 3 description of arena/api.py (kept by hand beside it; a test checks they agree)."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "description": "bad input",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _op(
    summary: str, *, body: str | None = None, write: bool = False, params: list[str] = ()
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "ok"}, "400": _ERROR, "404": {"description": "not found"}},
    }
    if params:
        op["parameters"] = [
            {
                "name": p,
                "in": "path",
                "required": True,
                "schema": {"type": "string" if p == "game" else "integer"},
            }
            for p in params
        ]
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if write:
        op["responses"].update(
            {
                "201": {"description": "created"},
                "401": {"description": "not signed in"},
                "403": {"description": "not yours"},
            }
        )
        op["security"] = [{"token": []}, {"session": []}]
    return op


def _upload(op: dict[str, Any]) -> dict[str, Any]:
    """A multipart body: safetensors weights, the JSON sidecar and optionally the training state."""
    binary = {"type": "string", "format": "binary"}
    op["requestBody"] = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["weights", "sidecar"],
                    "properties": {"weights": binary, "sidecar": binary, "state": binary},
                }
            }
        },
    }
    op["responses"].update(
        {"413": {"description": "upload too large"}, "429": {"description": "rate limited"}}
    )
    return op


def openapi_schema() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Arena API", "version": "1"},
        "paths": {
            "/api/games": {"get": _op("List games")},
            "/api/agents": {
                "get": _op("List agents"),
                "post": _op("Create an agent", body="AgentIn", write=True),
            },
            "/api/agents/{pk}": {
                "get": _op("Get an agent", params=["pk"]),
                "delete": _op("Delete an agent", write=True, params=["pk"]),
            },
            "/api/agents/{pk}/checkpoints": {
                "get": _op("List an agent's checkpoints", params=["pk"]),
                "post": _upload(
                    _op("Import a checkpoint (verified before it is stored)", write=True, params=["pk"])
                ),
            },
            "/api/checkpoints/{pk}": {"get": _op("Get a checkpoint", params=["pk"])},
            "/api/runs": {
                "get": _op("List training runs"),
                "post": _op("Start a training run", body="RunIn", write=True),
            },
            "/api/runs/{pk}": {"get": _op("Get a run with its stats", params=["pk"])},
            "/api/runs/{pk}/cancel": {"post": _op("Cancel a run", write=True, params=["pk"])},
            "/api/matches": {
                "get": _op("List matches"),
                "post": _op("Start a match", body="MatchIn", write=True),
            },
            "/api/matches/{pk}": {"get": _op("Get a match with its moves", params=["pk"])},
            "/api/ratings/{game}": {"get": _op("A game's rating pool", params=["game"])},
            "/api/tokens": {"post": _op("Issue an API token", body="TokenIn", write=True)},
        },
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <key>` from POST /api/tokens",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
                "AgentIn": {
                    "type": "object",
                    "required": ["game", "name"],
                    "additionalProperties": False,
                    "properties": {
                        "game": {"type": "string", "enum": ["tictactoe", "connect_four"]},
                        "name": {"type": "string", "minLength": 1, "maxLength": 80},
                        "algorithm": {"type": "string", "enum": ["dqn", "ppo"]},
                        "seat": {"type": "string"},
                        "network": {"type": "object"},
                    },
                },
                "RunIn": {
                    "type": "object",
                    "required": ["agent"],
                    "additionalProperties": False,
                    "properties": {"agent": {"type": "integer"}, "config": {"type": "object"}},
                },
                "MatchIn": {
                    "type": "object",
                    "required": ["game", "seats"],
                    "additionalProperties": False,
                    "properties": {
                        "game": {"type": "string"},
                        "seats": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "seat -> `checkpoint:<id>` or `bot:<name>`",
                        },
                        "seed": {"type": "integer", "minimum": 0},
                        "move_delay": {"type": "number", "minimum": 0, "maximum": 10},
                        "rated": {"type": "boolean"},
                    },
                },
                "TokenIn": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        },
    }
