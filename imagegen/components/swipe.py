"""A box that reports where a finger touched down and lifted: swipe handling in Python,
through Reflex event triggers (no hand-written script).
"""

import dataclasses

import reflex as rx
from reflex_base.event import EventHandler
from reflex_base.vars.base import Var
from reflex_base.vars.object import ObjectVar


@dataclasses.dataclass(frozen=True)
class JavascriptTouch:
    """One point of contact (https://developer.mozilla.org/en-US/docs/Web/API/Touch)."""

    clientX: int = 0
    clientY: int = 0


@dataclasses.dataclass(frozen=True)
class JavascriptTouchEvent:
    """The part of a TouchEvent read here: the touches that changed with this event (a
    TouchList: indexed like an object, it has no `.at()`).
    """

    changedTouches: dict[str, JavascriptTouch] = dataclasses.field(default_factory=dict)


def touch_point(e: ObjectVar[JavascriptTouchEvent]) -> tuple[Var[int], Var[int]]:
    """The first changed touch's viewport coordinates (x, y)."""
    touch = e.changedTouches["0"]
    return touch.clientX.to(int), touch.clientY.to(int)


class SwipeArea(rx.el.Div):
    """A div with touchstart / touchend triggers that pass the touch's client x and y."""

    # Reflex's event-spec syntax (the handler's arguments come from a function), which
    # mypy reads as a generic type.
    on_touch_start: EventHandler[touch_point]  # type: ignore[type-arg,valid-type]
    on_touch_end: EventHandler[touch_point]  # type: ignore[type-arg,valid-type]


swipe_area = SwipeArea.create
