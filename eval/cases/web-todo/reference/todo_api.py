"""An in-memory todo list served over HTTP with FastAPI."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, StringConstraints

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class NewTodo(BaseModel):
    """What a client sends to create a todo."""

    title: Title


class TodoChanges(BaseModel):
    """The fields a client may change."""

    title: Title | None = None
    done: bool | None = None


class Todo(BaseModel):
    """A stored todo."""

    id: int
    title: str
    done: bool = False


app = FastAPI(title="todo_api")
_todos: dict[int, Todo] = {}
_last_id = 0


def _get(todo_id: int) -> Todo:
    if todo_id not in _todos:
        raise HTTPException(status_code=404, detail=f"todo {todo_id} not found")
    return _todos[todo_id]


@app.post("/todos", status_code=201)
def create_todo(body: NewTodo) -> Todo:
    """Create a todo."""
    global _last_id
    _last_id += 1
    todo = Todo(id=_last_id, title=body.title)
    _todos[todo.id] = todo
    return todo


@app.get("/todos")
def list_todos(done: bool | None = None) -> list[Todo]:
    """List todos in id order, optionally only done or not done ones."""
    return [t for t in sorted(_todos.values(), key=lambda t: t.id) if done in (None, t.done)]


@app.get("/todos/{todo_id}")
def get_todo(todo_id: int) -> Todo:
    """Return one todo."""
    return _get(todo_id)


@app.patch("/todos/{todo_id}")
def update_todo(todo_id: int, body: TodoChanges) -> Todo:
    """Change a todo's title or done flag."""
    todo = _get(todo_id)
    changed = todo.model_copy(update=body.model_dump(exclude_none=True))
    _todos[todo_id] = changed
    return changed


@app.delete("/todos/{todo_id}", status_code=204)
def delete_todo(todo_id: int) -> Response:
    """Delete a todo."""
    _get(todo_id)
    del _todos[todo_id]
    return Response(status_code=204)
