"""The prompt form and the gallery cards of the generate page."""

import inspect
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import reflex as rx
from reflex.vars.function import ArgsFunctionOperation

from imagegen import routes, styles
from imagegen.cards import VARIATIONS, Card
from imagegen.http import urls
from imagegen.services.generation import MAX_COUNT, MAX_PROMPT, QUALITIES, SIZES, STYLES
from imagegen.state.account import NOTICES_WATCH
from imagegen.state.collections import CollectionsState
from imagegen.state.gallery import (
    ERROR_SEEN,
    PROMPT_TYPED,
    RECENT_PROMPTS,
    SUGGEST_OPEN,
    SUGGEST_UP_TO,
    SUGGESTIONS_SHOWN,
    GalleryState,
    UserFeed,
)

SIZE_LABELS = {
    "1024x1024": "Square · 1024×1024",
    "1536x1024": "Landscape · 1536×1024",
    "1024x1536": "Portrait · 1024×1536",
}
# The picker's words: short enough for a phone's half-width select (the pixels are in the
# image's details).
SIZE_CHOICES = {
    "1024x1024": "Square 1:1",
    "1536x1024": "Landscape 3:2",
    "1024x1536": "Portrait 2:3",
}
STYLE_LABELS = {
    "none": "No style",
    "photo": "Photo",
    "illustration": "Illustration",
    "anime": "Anime",
    "3d": "3D render",
    "watercolor": "Watercolor",
    "pixel": "Pixel art",
}


# Ctrl+Enter (Cmd+Enter on a Mac) in the prompt submits the form, as in chat and code tools;
# a plain Enter still makes a new line.
# While recent prompts are offered under it: ↑/↓ move through them, Enter takes the one
# highlighted, Esc closes the list (all in the browser; a pick is a click on the option).
SUBMIT_ON_CTRL_ENTER = """(e) => {
  if (e.isComposing) return;
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault(); if (!e.repeat) { e.target.form?.requestSubmit(); } return;
  }
  const list = document.getElementById('prompt-suggestions');
  const options = list ? [...list.querySelectorAll('[role=option]')] : [];
  if (!options.length) return;
  let at = options.findIndex((o) => o.getAttribute('aria-selected') === 'true');
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    at = e.key === 'ArrowDown' ? (at + 1) % options.length
      : (at <= 0 ? options.length - 1 : at - 1);
    options.forEach((o, i) => o.setAttribute('aria-selected', i === at ? 'true' : 'false'));
    e.target.setAttribute('aria-activedescendant', options[at].id);
    options[at].scrollIntoView({block: 'nearest'});
  } else if (e.key === 'Enter' && at >= 0 && !e.shiftKey) {
    e.preventDefault(); options[at].click();
  } else if (e.key === 'Escape') {
    e.preventDefault(); e.stopPropagation();
    document.getElementById('prompt-suggestions-close')?.click();
  }
}"""


SUGGESTION_STYLE = {
    "padding": "0.45rem 0.6rem",
    "border_radius": "var(--radius-2)",
    "cursor": "pointer",
    "font_size": "var(--font-size-2)",
    "white_space": "nowrap",
    "overflow": "hidden",
    "text_overflow": "ellipsis",
    "&:hover": {"background": "var(--gray-a3)"},
    "&[aria-selected='true']": {"background": "var(--accent-a4)", "color": "var(--accent-12)"},
}


# All computed in the browser from what is typed (no server round trip per keystroke).
# Characters typed (code points, as the server counts them).
PROMPT_LENGTH = (
    ArgsFunctionOperation.create(("typed",), rx.Var("Array.from(typed ?? '').length"))
    .call(PROMPT_TYPED.value)
    .to(int)
)
# The counter, e.g. "1,234 / 4,000".
PROMPT_COUNTER = (
    ArgsFunctionOperation.create(
        ("length",), rx.Var(f"`${{length.toLocaleString('en-US')}} / {MAX_PROMPT:,}`")
    )
    .call(PROMPT_LENGTH)
    .to(str)
)
# The live hint while the prompt is too long, e.g. "12 characters over the limit".
OVER_BY = (
    ArgsFunctionOperation.create(
        ("length",),
        rx.Var(
            f"`${{(length - {MAX_PROMPT}).toLocaleString('en-US')}} "
            f"character${{length - {MAX_PROMPT} === 1 ? '' : 's'}} over the limit`"
        ),
    )
    .call(PROMPT_LENGTH)
    .to(str)
)
# The recent prompts that contain what is typed (case-insensitive; spaces squeezed), those
# starting with it first, newest first otherwise; none while a long prompt is written, and
# not the very prompt already in the box (what the server's recent_prompts did per key).
SUGGESTED = (
    ArgsFunctionOperation.create(
        ("recent", "typed"),
        rx.Var(
            "(() => {"
            f" if (!Array.isArray(recent) || (typed ?? '').length > {SUGGEST_UP_TO}) return [];"
            " const needle = (typed ?? '').split(/\\s+/).filter(Boolean).join(' ');"
            " const low = needle.toLowerCase();"
            " const hits = recent.filter((p) => p !== needle && p.toLowerCase().includes(low));"
            " const first = hits.filter((p) => p.toLowerCase().startsWith(low));"
            " const rest = hits.filter((p) => !p.toLowerCase().startsWith(low));"
            f" return [...first, ...rest].slice(0, {SUGGESTIONS_SHOWN});"
            " })()"
        ),
    )
    .call(RECENT_PROMPTS.value, PROMPT_TYPED.value)
    .to(list[str])
)


def prompt_suggestions() -> rx.Component:
    """The user's recent prompts under the prompt box (a listbox the box controls)."""
    return rx.cond(
        SUGGEST_OPEN.value & (SUGGESTED.length() > 0),
        rx.box(
            rx.el.button(
                "Close suggestions",
                id="prompt-suggestions-close",
                type="button",
                tab_index=-1,
                on_click=SUGGEST_OPEN.set_value(False),
                style=styles.sr_only,
            ),
            rx.text("Recent prompts", size="1", color_scheme="gray", padding="0.4rem 0.75rem 0"),
            rx.el.ul(
                rx.foreach(
                    SUGGESTED,
                    lambda prompt, index: rx.el.li(
                        prompt,
                        id="suggestion-" + index.to_string(),
                        role="option",
                        aria_selected="false",
                        on_mouse_down=rx.prevent_default,
                        on_click=[
                            rx.set_value("prompt", prompt),
                            PROMPT_TYPED.set_value(prompt),
                            SUGGEST_OPEN.set_value(False),
                            rx.set_focus("prompt"),
                        ],
                        style=SUGGESTION_STYLE,
                    ),
                ),
                id="prompt-suggestions",
                role="listbox",
                aria_label="Suggestions",
                style={"list_style": "none", "margin": "0", "padding": "0.25rem"},
            ),
            # In the flow of the form (the card would clip a floating list, and it would
            # cover the pickers below).
            margin_top="0.4rem",
            max_height="14rem",
            overflow_y="auto",
            background="var(--color-panel-solid)",
            border="1px solid var(--gray-a6)",
            border_radius="var(--radius-3)",
            box_shadow="var(--shadow-4)",
        ),
    )


def _select(
    label: str, name: str, value: rx.Var, on_change: rx.EventHandler, options: dict[str, str]
) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, style=styles.label_style),
        rx.select.root(
            rx.select.trigger(id=name, width="100%", aria_label=label),
            rx.select.content(*(rx.select.item(text, value=key) for key, text in options.items())),
            name=name,
            value=value,
            on_change=on_change,
            size="2",
        ),
        spacing="1",
        flex="1",
        min_width="9rem",
    )


# Known to be at 0 (the Generate button is disabled then, with this notice as the reason).
NO_CREDITS_LEFT = UserFeed.loaded & (UserFeed.credits_left == 0)


def out_of_credits_notice() -> rx.Component:
    """Shown when a submission needs more credits than are left, or none are left."""
    return rx.cond(
        GalleryState.out_of_credits | NO_CREDITS_LEFT,
        rx.callout.root(
            rx.callout.icon(rx.icon("coins")),
            rx.callout.text(
                rx.text.strong("Out of credits. "),
                rx.cond(
                    UserFeed.credits_resets != "",
                    rx.text.span(
                        "Your credits reset on ",
                        # In the reader's own time zone (the server's text says UTC).
                        rx.moment(UserFeed.credits_resets_iso, format="MMM D, HH:mm", local=True),
                        ". ",
                    ),
                    rx.text.span("Your credits reset soon. "),
                ),
                rx.link("Upgrade on the Billing page", href=routes.BILLING),
                " for more.",
            ),
            color_scheme="amber",
            role="alert",
            width="100%",
        ),
    )


def prompt_form() -> rx.Component:
    """Prompt, options, cost and the Generate button."""
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.el.label("Prompt", html_for="prompt", style=styles.label_style),
                    rx.spacer(),
                    rx.text(
                        PROMPT_COUNTER,
                        size="1",
                        color=rx.cond(
                            PROMPT_LENGTH > MAX_PROMPT,
                            "var(--red-11)",
                            "var(--gray-10)",
                        ),
                        aria_live="polite",
                    ),
                    width="100%",
                    align="center",
                ),
                rx.box(
                    rx.text_area(
                        id="prompt",
                        name="prompt",
                        # Uncontrolled: what is typed stays in the browser (nothing a late
                        # state update could replace); a remount starts from what was typed.
                        default_value=PROMPT_TYPED.value,
                        on_change=[
                            PROMPT_TYPED.set_value,
                            SUGGEST_OPEN.set_value(True),
                            ERROR_SEEN.set_value(GalleryState.form_error),
                        ],
                        placeholder="A lighthouse on a cliff at dawn, oil painting, warm light…",
                        rows="3",
                        resize="vertical",
                        size="3",
                        width="100%",
                        aria_keyshortcuts="Control+Enter Meta+Enter",
                        custom_attrs={"on_key_down": rx.Var(_js_expr=SUBMIT_ON_CTRL_ENTER)},
                        on_focus=SUGGEST_OPEN.set_value(True),
                        on_blur=SUGGEST_OPEN.set_value(False),
                        aria_autocomplete="list",
                        aria_controls="prompt-suggestions",
                        aria_expanded=rx.cond(SUGGEST_OPEN.value, "true", "false"),
                        aria_invalid=rx.cond(PROMPT_LENGTH > MAX_PROMPT, "true", "false"),
                    ),
                    rx.cond(
                        PROMPT_LENGTH > MAX_PROMPT,
                        rx.text(
                            OVER_BY,
                            size="1",
                            color="var(--red-11)",
                            margin_top="0.3rem",
                            aria_live="polite",
                            data_testid="prompt-hint",
                        ),
                    ),
                    prompt_suggestions(),
                    position="relative",
                    width="100%",
                ),
                rx.flex(
                    _select(
                        "Size",
                        "size",
                        GalleryState.size,
                        GalleryState.set_size,
                        {s: SIZE_CHOICES[s] for s in SIZES},
                    ),
                    _select(
                        "Quality",
                        "quality",
                        GalleryState.quality,
                        GalleryState.set_quality,
                        {q: q.capitalize() for q in QUALITIES},
                    ),
                    _select(
                        "Images",
                        "count",
                        GalleryState.count,
                        GalleryState.set_count,
                        {str(n): str(n) for n in range(1, MAX_COUNT + 1)},
                    ),
                    _select(
                        "Style",
                        "style",
                        GalleryState.style,
                        GalleryState.set_style,
                        {k: STYLE_LABELS[k] for k in ("none", *STYLES)},
                    ),
                    spacing="3",
                    wrap="wrap",
                    width="100%",
                ),
                rx.cond(
                    # Until the user types past it (typing sends nothing to clear it).
                    (GalleryState.form_error != "") & (GalleryState.form_error != ERROR_SEEN.value),
                    rx.callout(
                        GalleryState.form_error,
                        icon="triangle-alert",
                        color_scheme="red",
                        role="alert",
                        width="100%",
                    ),
                ),
                out_of_credits_notice(),
                rx.flex(
                    rx.hstack(
                        rx.badge(
                            rx.icon("coins", size=14),
                            rx.text.span(
                                UserFeed.credits_left.to_string(),
                                " credits left",
                                id="credits-left",
                            ),
                            size="2",
                            variant="soft",
                            color_scheme=rx.cond(UserFeed.credits_left > 0, styles.ACCENT, "amber"),
                        ),
                        rx.text(
                            "Costs ",
                            GalleryState.cost.to_string(),
                            rx.cond(GalleryState.cost == 1, " credit", " credits"),
                            size="2",
                            color_scheme="gray",
                            id="next-cost",
                        ),
                        align="center",
                        spacing="3",
                        wrap="wrap",
                    ),
                    rx.spacer(),
                    rx.button(
                        rx.cond(
                            GalleryState.submitting,
                            rx.spinner(size="2"),
                            rx.icon("sparkles", size=16),
                        ),
                        "Generate",
                        type="submit",
                        size="3",
                        disabled=GalleryState.submitting | NO_CREDITS_LEFT,
                        aria_label="Generate",
                        title="Generate (Ctrl+Enter, or ⌘+Enter on a Mac)",
                    ),
                    align="center",
                    width="100%",
                    spacing="3",
                    wrap="wrap",
                ),
                spacing="4",
                width="100%",
            ),
            # One event: the form's data carries the prompt.
            on_submit=[SUGGEST_OPEN.set_value(False), GalleryState.submit],
            reset_on_submit=False,
            width="100%",
        ),
        width="100%",
        size="3",
    )


def offline_notice() -> rx.Component:
    """Say plainly when images are drawn locally rather than by a model."""
    return rx.cond(
        GalleryState.offline_generator,
        rx.callout(
            "Demo mode: pictures are simple drawings made from your prompt, "
            "not by an AI image model.",
            icon="plug-zap",
            color_scheme="gray",
            variant="surface",
            size="1",
            width="100%",
        ),
    )


def credits_word(cost: rx.Var) -> rx.Var:
    """The cost in words, e.g. 1 credit or 4 credits."""
    return cost.to(str) + rx.cond(cost.to(str) == "1", " credit", " credits")


def regenerate_label(item: rx.Var) -> rx.Var:
    """Remake (Regenerate: same prompt and settings, a new picture), with what it costs
    (shown before anything is spent). Not called "Regenerate": that name contains
    "Generate", the form's button, and a second match confuses find-by-name.
    """
    return "Remake · " + credits_word(item["cost"])  # type: ignore[return-value]  # str + Var is a Var


def variations_label(item: rx.Var) -> rx.Var:
    """Variations (new pictures drawn from this one), with what they cost."""
    label = f"{VARIATIONS} variations · " + credits_word(item["variations_cost"])
    return label  # type: ignore[return-value]  # str + Var is a Var


def _quiet_button(label: str, on_click: object) -> rx.Component:
    """A small grey button for secondary card actions (cancel, dismiss, stop sharing)."""
    return rx.button(label, size="1", variant="soft", color_scheme="gray", on_click=on_click)


def _icon_button(
    icon: str, label: str | rx.Var, on_click: object, color_scheme: str = "gray"
) -> rx.Component:
    return rx.tooltip(
        rx.icon_button(
            rx.icon(icon, size=16),
            on_click=on_click,
            aria_label=label,
            variant="soft",
            color_scheme=color_scheme,
            size="2",
        ),
        content=label,
    )


def heart_button(item: rx.Var) -> rx.Component:
    """The heart over a finished picture: filled when it is a favorite."""
    on = item["favorite"] == "1"
    return rx.icon_button(
        rx.icon("heart", size=16, fill=rx.cond(on, "currentColor", "none")),
        on_click=GalleryState.toggle_favorite(item["id"], ~on),
        aria_label=rx.cond(on, "Remove from favorites", "Add to favorites"),
        aria_pressed=rx.cond(on, "true", "false"),
        title=rx.cond(on, "Remove from favorites", "Add to favorites"),
        variant="solid",
        color_scheme=rx.cond(on, "red", "gray"),
        high_contrast=~on,
        radius="full",
        size="2",
        position="absolute",
        top="0.5rem",
        right="0.5rem",
        opacity=rx.cond(on, "1", "0.85"),
        data_testid="heart",
    )


def _completed(item: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.box(
            _picture_link(item),
            heart_button(item),
            position="relative",
            width="100%",
        ),
        _card_actions(item),
        rx.cond(item["share_url"] != "", _shared_row(item)),
        width="100%",
        spacing="3",
    )


def _picture_link(item: rx.Var) -> rx.Component:
    return rx.link(
        rx.image(
            src=item["thumb"],
            alt=item["prompt"],
            width="100%",
            style={"aspect_ratio": _shape(item["aspect"], "1 / 1"), "object_fit": "cover"},
            border_radius="var(--radius-3)",
            loading="lazy",
            background="var(--gray-3)",
        ),
        href=routes.image_path("") + item["id"].to(str),
        id="card-link-" + item["id"].to(str),
        display="block",
        width="100%",
        border_radius="var(--radius-3)",
    )


def _menu_item(icon: str, label: str, on_select: object) -> rx.Component:
    return rx.dropdown_menu.item(
        rx.hstack(rx.icon(icon, size=14), rx.text(label), align="center", spacing="2"),
        on_select=on_select,
    )


def _more_menu(item: rx.Var) -> rx.Component:
    """The card's less used actions, so the row fits a portrait card's width."""
    return rx.dropdown_menu.root(
        rx.dropdown_menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis", size=16),
                aria_label="More actions",
                title="More actions",
                variant="soft",
                color_scheme="gray",
                size="2",
            ),
        ),
        rx.dropdown_menu.content(
            _menu_item("copy", "Copy prompt", GalleryState.copy_prompt(item["prompt"])),
            _menu_item("wand-sparkles", "Use these settings", GalleryState.use_settings(item)),
            rx.cond(
                item["share_url"] == "",
                _menu_item("share-2", "Share", GalleryState.share_image(item["id"])),
            ),
            size="1",
        ),
    )


def _card_actions(item: rx.Var) -> rx.Component:
    return rx.hstack(
        _icon_button("download", "Download", rx.download(url=item["download"])),
        _icon_button("refresh-cw", regenerate_label(item), GalleryState.regenerate(item, 1)),
        _icon_button("layers", variations_label(item), GalleryState.variations(item, VARIATIONS)),
        _more_menu(item),
        rx.spacer(),
        _icon_button(
            "trash-2", "Delete image", GalleryState.ask_delete(item["id"]), color_scheme="red"
        ),
        width="100%",
        spacing="1",
        wrap="wrap",  # narrow columns (3 beside a sidebar): a second row, not an overflow
        # Phones: two narrow columns; a tap on the picture opens the view with every action.
        display=rx.breakpoints(initial="none", sm="flex"),
        data_testid="card-actions",
    )


def _shared_row(item: rx.Var) -> rx.Component:
    """Shown while the image is public: its link, copy, stop sharing."""
    return rx.hstack(
        rx.icon("globe", size=14, color="var(--green-11)", flex_shrink="0"),
        rx.link(
            "Public link",
            href=item["share_url"],
            is_external=True,
            size="1",
            weight="medium",
        ),
        _icon_button("link", "Copy public link", GalleryState.copy_link(item["share_url"])),
        rx.spacer(),
        _quiet_button("Stop sharing", GalleryState.stop_sharing(item["id"])),
        align="center",
        width="100%",
        padding="0.4rem 0.6rem",
        border_radius="var(--radius-3)",
        background="var(--green-a2)",
        data_testid="shared",
        display=rx.breakpoints(initial="none", sm="flex"),
    )


def _pending(item: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.skeleton(
            rx.box(width="100%", padding_top=_shape(item["pad"], "100%")),
            loading=True,
            width="100%",
            display="block",
        ),
        rx.hstack(
            rx.badge(
                rx.spinner(size="1"),
                item["status_label"],
                color_scheme=rx.cond(item["status"] == "generating", styles.ACCENT, "gray"),
                variant="soft",
            ),
            rx.spacer(),
            rx.cond(
                item["status"] == "queued",
                _quiet_button("Cancel", GalleryState.cancel_image(item["id"])),
            ),
            width="100%",
            align="center",
        ),
        # Its own line: beside the badge and Cancel it was squeezed to a word a line on phones.
        rx.cond(
            item["queue_position"] != "",  # "" unless queued with a known place
            rx.text(
                item["queue_position"],
                " · ",
                item["queue_eta"],
                size="1",
                color_scheme="gray",
                data_testid="queue-spot",
                margin_top="-0.25rem",
            ),
        ),
        width="100%",
        spacing="3",
    )


def _ended(item: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.center(
            rx.vstack(
                rx.icon(
                    rx.cond(item["status"] == "failed", "image-off", "circle-slash"),
                    size=28,
                    color="var(--gray-9)",
                ),
                rx.text(item["status_label"], weight="medium"),
                rx.cond(
                    item["error"] != "",
                    rx.text(item["error"], size="1", color_scheme="gray", align="center"),
                ),
                rx.badge("Credits refunded", color_scheme="green", variant="soft"),
                align="center",
                spacing="2",
                padding="1rem",
            ),
            width="100%",
            min_height="12rem",
            border="1px dashed var(--gray-a6)",
            border_radius="var(--radius-3)",
        ),
        rx.hstack(
            rx.spacer(),
            _quiet_button("Dismiss", GalleryState.dismiss_image(item["id"])),
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def _select_overlay(item: rx.Var) -> rx.Component:
    """In Select mode: the whole card is a checkbox (shift-click selects a range)."""
    chosen = GalleryState.selected.contains(item["id"])
    return rx.box(
        rx.center(
            rx.cond(chosen, rx.icon("check", size=16, color="white")),
            width="1.6rem",
            height="1.6rem",
            border_radius="50%",
            border="2px solid white",
            background=rx.cond(chosen, "var(--accent-9)", "var(--black-a6)"),
            box_shadow="var(--shadow-2)",
            position="absolute",
            top="0.6rem",
            left="0.6rem",
        ),
        on_click=lambda e: GalleryState.select_card(item["id"], e["shift_key"]),
        role="checkbox",
        aria_checked=rx.cond(chosen, "true", "false"),
        aria_label="Select: " + item["prompt"].to(str),
        tab_index=0,
        custom_attrs={"on_key_down": rx.Var(_js_expr=CLICK_ON_SPACE)},
        data_testid="select-card",
        position="absolute",
        inset="0",
        z_index="2",
        cursor="pointer",
        border_radius="inherit",
        background=rx.cond(chosen, "var(--accent-a4)", "transparent"),
        outline=rx.cond(chosen, "3px solid var(--accent-9)", "none"),
        outline_offset="-3px",
    )


# A checkbox that is a box: Space and Enter toggle it as a click does.
CLICK_ON_SPACE = (
    "(e) => { if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); e.target.click(); } }"
)


def image_card(item: rx.Var, *, tiled: bool = True) -> rx.Component:
    """One image: skeleton while queued/generating, the picture when done, the reason when not.
    `tiled`: the card is itself a tile of the justified rows; otherwise it fills its wrapper
    (which is the tile).
    """
    return rx.card(
        rx.cond(GalleryState.selecting, _select_overlay(item)),
        rx.vstack(
            rx.match(
                item["status"],
                ("completed", _completed(item)),
                ("failed", _ended(item)),
                ("cancelled", _ended(item)),
                _pending(item),
            ),
            rx.text(
                item["prompt"],
                size="2",
                trim="start",
                data_testid="card-prompt",
                style={
                    "display": "-webkit-box",
                    "-webkit-line-clamp": "2",
                    "-webkit-box-orient": "vertical",
                    "overflow": "hidden",
                    "word-break": "break-word",
                },
            ),
            rx.text(
                item["created"],
                " · ",
                item["size"],
                " · ",
                item["quality"],
                size="1",
                color_scheme="gray",
            ),
            spacing="2",
            width="100%",
        ),
        data_status=item["status"],
        data_image_id=item["id"],
        data_testid="image-card",
        id="card-" + item["id"].to(str),
        position="relative",
        **(_tile(item) if tiled else {"width": "100%", "min_width": "0"}),
        size=rx.breakpoints(initial="1", sm="2"),
    )


def confirm_delete(
    title: rx.Var | str | tuple, *, open_: rx.Var, on_open_change: Any, on_delete: Any
) -> rx.Component:
    """The one confirmation before any delete (a card, the image view, a selection): a
    delete can be undone for a few seconds, and says so.
    """
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(*(title if isinstance(title, tuple) else (title,))),
            rx.alert_dialog.description("You can undo this for a few seconds.", size="2"),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Keep", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=on_delete)),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            max_width="24rem",
        ),
        open=open_,
        on_open_change=on_open_change,
    )


def delete_dialog() -> rx.Component:
    """Confirm before deleting a card."""
    return confirm_delete(
        "Delete this image?",
        open_=GalleryState.pending_delete != "",
        on_open_change=GalleryState.close_delete,
        on_delete=GalleryState.confirm_delete,
    )


def undo_bar() -> rx.Component:
    """After a delete, for a few seconds: what was deleted, and Undo."""
    return rx.cond(
        GalleryState.undo_ids.length() > 0,
        rx.hstack(
            rx.icon("trash-2", size=16, color="var(--gray-11)"),
            rx.text(GalleryState.undo_text, size="2", weight="medium", white_space="nowrap"),
            rx.button(
                rx.icon("undo-2", size=16),
                "Undo",
                size="2",
                variant="solid",
                on_click=GalleryState.undo_delete,
            ),
            role="status",
            data_testid="undo-bar",
            align="center",
            spacing="3",
            position="fixed",
            bottom="1.25rem",
            left="50%",
            transform="translateX(-50%)",
            z_index="1000",
            padding="0.5rem 0.5rem 0.5rem 1rem",
            border_radius="var(--radius-4)",
            background="var(--color-panel-solid)",
            box_shadow="var(--shadow-5)",
            border="1px solid var(--gray-a5)",
        ),
    )


# Justified rows: each card's picture width is its share of the row in proportion to the
# picture's width/height, so the pictures of a row share one height and a landscape card beside
# a portrait one leaves no hole; read left to right, newest first, and no column is ever left
# empty when there are few images. ROW_UNIT is the picture width a square card starts from
# (3 a row on a laptop or desktop); a card grows to at most GROW_CAP times that, so a row of
# one never becomes a giant. TILE_PAD is what a card adds around its picture (its padding
# at the card sizes image_card uses, and its border). Phones have two equal columns of
# square thumbnails (the whole picture is one tap away).
ROW_UNIT = rx.breakpoints(initial="9rem", sm="13rem", md="12rem", lg="15rem", xl="18rem")
TILE_PAD = rx.breakpoints(
    initial="calc(2 * var(--space-3) + 2px)", sm="calc(2 * var(--space-4) + 2px)"
)
ROW_GAP = rx.breakpoints(initial="0.75rem", sm="1rem")
GROW_CAP = 1.6
TILE_MIN = "14rem"


def _shape(value: rx.Var, on_phones: str) -> rx.Var | dict:
    """The picture's own shape from tablet width up; `on_phones` below."""
    return rx.breakpoints(initial=on_phones, sm=value)


def _tile(item: rx.Var) -> dict[str, Any]:
    """A card's place in the justified rows (see ROW_UNIT)."""
    grow = item["grow"].to(str)
    return {
        "flex_grow": rx.breakpoints(initial="0", sm=grow),
        "flex_basis": rx.breakpoints(
            initial="calc(50% - 0.375rem)",
            # At least room for the action row (4 buttons and Delete) under a portrait picture.
            sm="max(calc(" + grow + f" * var(--row-unit) + var(--tile-pad)), {TILE_MIN})",
        ),
        "max_width": rx.breakpoints(
            initial="calc(50% - 0.375rem)",
            sm="calc(" + grow + f" * {GROW_CAP} * var(--row-unit) + var(--tile-pad))",
        ),
        "min_width": "0",
    }


def _masonry(children: rx.Component) -> rx.Component:
    return rx.flex(
        children,
        # The last row keeps its cards at their starting width instead of stretching them.
        rx.box(flex_grow="1000", flex_basis="0", height="0", aria_hidden="true"),
        wrap="wrap",
        gap=ROW_GAP,
        width="100%",
        style={"--row-unit": ROW_UNIT, "--tile-pad": TILE_PAD},
        data_testid="gallery-grid",
    )


# `key` (the gallery's order) is not shown, and React keeps that name for itself.
CARD_FIELDS = tuple(field for field in Card.__annotations__ if field != "key")


def _card_component(name: str, *, tiled: bool) -> Callable[..., rx.Component]:
    """`image_card` as a React component of its own whose props are the card's fields (all
    strings), wrapped in React's `memo`: when the feed changes, React re-renders only the
    cards whose fields changed, not every card of the list (its menus, tooltips and styles).
    """
    # Props are named card_<field>: a prop named `id` or `style` would be taken for the
    # component's own.
    props = {field: f"card_{field}" for field in CARD_FIELDS}

    def body(**values: rx.Var) -> rx.Component:
        return image_card({field: values[prop] for field, prop in props.items()}, tiled=tiled)

    # rx.memo reads the props from the signature: one keyword-only string prop per field.
    body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(prop, inspect.Parameter.KEYWORD_ONLY, annotation=rx.Var[str])
            for prop in props.values()
        ],
        return_annotation=rx.Component,
    )
    body.__annotations__ = dict.fromkeys(props.values(), rx.Var[str]) | {"return": rx.Component}
    body.__name__ = body.__qualname__ = name
    memo = rx.memo(body)
    return lambda item: memo(**{prop: item[field] for field, prop in props.items()})


# A card in the justified rows, and a card filling its wrapper (an open collection's tile).
card_tile = _card_component("card_tile", tiled=True)
card_fill = _card_component("card_fill", tiled=False)


def _grid(items: rx.Var) -> rx.Component:
    return _masonry(rx.foreach(items, lambda item: rx.fragment(card_tile(item), key=item["id"])))


def _feed_grid() -> rx.Component:
    """The shared feed down to this tab's floor (the rest is "Load more" away). Each card is
    keyed by its image (not by its place): a new card on top leaves the others' DOM alone
    instead of moving every picture down one element.
    """
    return _masonry(
        rx.foreach(
            UserFeed.items,
            lambda item: rx.fragment(
                rx.cond(item["key"].to(str) >= GalleryState.floor, card_tile(item)),
                key=item["id"],
            ),
        )
    )


def _skeleton_grid() -> rx.Component:
    return rx.grid(
        *(rx.skeleton(rx.box(height="16rem"), loading=True) for _ in range(4)),
        columns=rx.breakpoints(initial="2", md="3"),
        spacing="4",
        width="100%",
    )


def empty_state() -> rx.Component:
    """A new user's gallery."""
    return rx.center(
        rx.vstack(
            rx.icon("images", size=40, color="var(--gray-9)"),
            rx.text("No images yet", weight="medium", size="4"),
            rx.text(
                "Describe something above and press Generate. It appears here, in every tab you have open.",
                color_scheme="gray",
                size="2",
                align="center",
            ),
            align="center",
            spacing="2",
            max_width="28rem",
        ),
        width="100%",
        padding="4rem 1rem",
        border="1px dashed var(--gray-a6)",
        border_radius="var(--radius-4)",
    )


def _clock(interval: rx.Var | int) -> rx.Component:
    return rx.moment(
        interval=interval,
        format="HH:mm:ss",
        on_change=GalleryState.refetch,
        display="none",
        aria_hidden="true",
    )


def _poller() -> rx.Component:
    """A hidden clock that refetches the gallery: on every tick under LIVE_UPDATES=poll;
    with live push, every RECONCILE_SECONDS (15) while a card is in progress, a safety net that
    finishes the cards whose notification was lost (Redis restarted, a web process died).
    """
    return rx.cond(
        GalleryState.poll_ms > 0,
        _clock(GalleryState.poll_ms),
        rx.cond(UserFeed.in_progress, _clock(GalleryState.reconcile_ms)),
    )


def bulk_bar() -> rx.Component:
    """Select mode: how many are selected and what to do with them (sticks to the top)."""
    none = GalleryState.selected.length() == 0
    return rx.flex(
        rx.text(
            GalleryState.selected.length().to_string(),
            " selected",
            size="2",
            weight="medium",
            aria_live="polite",
            white_space="nowrap",
        ),
        rx.button(
            "Select all on screen", size="2", variant="soft", on_click=GalleryState.select_all
        ),
        rx.cond(
            ~none,
            rx.button(
                "Clear",
                size="2",
                variant="ghost",
                color_scheme="gray",
                on_click=GalleryState.clear_selection,
            ),
        ),
        rx.spacer(),
        # A native form post: the browser downloads the streamed zip itself.
        rx.el.form(
            rx.el.input(type="hidden", name="ids", value=GalleryState.selected_ids),
            rx.button(
                rx.icon("download", size=16), "Download", type="submit", size="2", disabled=none
            ),
            action=urls.backend(routes.API_IMAGES_ZIP),
            method="post",
            on_submit=None,
            display="inline-flex",
        ),
        rx.button(
            rx.icon("heart", size=16),
            "Add to favorites",
            size="2",
            variant="soft",
            disabled=none,
            on_click=GalleryState.bulk_favorite,
        ),
        rx.button(
            rx.icon("trash-2", size=16),
            "Delete",
            size="2",
            variant="soft",
            color_scheme="red",
            disabled=none,
            on_click=GalleryState.ask_bulk_delete(True),
        ),
        rx.cond(
            CollectionsState.collections.length() > 0,
            rx.select.root(
                rx.select.trigger(placeholder="Add to collection", aria_label="Add to collection"),
                rx.select.content(
                    rx.foreach(
                        CollectionsState.collections,
                        lambda c: rx.select.item(c["name"], value=c["id"]),
                    )
                ),
                value="",
                on_change=CollectionsState.add_selected_to,
                disabled=none,
                size="2",
            ),
        ),
        align="center",
        spacing="2",
        wrap="wrap",
        width="100%",
        padding="0.6rem 0.75rem",
        border_radius="var(--radius-4)",
        background="var(--color-panel-solid)",
        border="1px solid var(--accent-a6)",
        box_shadow="var(--shadow-3)",
        position="sticky",
        top="0.5rem",
        z_index="5",
        data_testid="bulk-bar",
        role="toolbar",
        aria_label="Selected images",
    )


def bulk_delete_dialog() -> rx.Component:
    """One confirmation before a bulk delete (then Undo)."""
    return confirm_delete(
        ("Delete ", GalleryState.selected.length().to_string(), " images?"),
        open_=GalleryState.confirm_bulk_delete,
        on_open_change=GalleryState.ask_bulk_delete,
        on_delete=GalleryState.bulk_delete,
    )


# The tab's icon while images are made: the app's colour with the number still in progress
# (React puts a <link> rendered anywhere into <head>; gone again once nothing is in progress).
_FAVICON_HEAD = quote(
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'>"
    "<circle cx='32' cy='32' r='31' fill='#8e4ec6'/>"
    "<circle cx='32' cy='32' r='25' fill='none' stroke='white' stroke-width='5'"
    " stroke-dasharray='110 60' stroke-linecap='round'/>"
    "<text x='32' y='43' font-size='30' font-family='sans-serif' font-weight='700'"
    " text-anchor='middle' fill='white'>",
    safe="",
)
_FAVICON_TAIL = quote("</text></svg>", safe="")


def progress_favicon() -> rx.Component:
    """The favicon counts the images in progress, in every tab of the user."""
    count = rx.cond(UserFeed.working_count > 9, "9+", UserFeed.working_count.to_string())
    return rx.cond(
        UserFeed.working_count > 0,
        rx.el.link(
            rel="icon",
            type="image/svg+xml",
            href="data:image/svg+xml," + _FAVICON_HEAD + count + _FAVICON_TAIL,
            data_testid="progress-favicon",
        ),
    )


def _view_bar() -> rx.Component:
    """All / Favorites and Newest / Oldest, above the cards."""
    return rx.flex(
        rx.segmented_control.root(
            rx.segmented_control.item("All", value="all"),
            rx.segmented_control.item(
                rx.hstack(rx.icon("heart", size=14), "Favorites", spacing="1", align="center"),
                value="favorites",
            ),
            value=GalleryState.show,
            on_change=GalleryState.set_show,
            aria_label="Show",
            size="2",
        ),
        rx.hstack(
            rx.select.root(
                rx.select.trigger(aria_label="Sort", variant="soft", color="gray"),
                rx.select.content(
                    rx.select.item("Newest first", value="newest"),
                    rx.select.item("Oldest first", value="oldest"),
                ),
                value=GalleryState.order,
                on_change=GalleryState.set_order,
                size="2",
            ),
            rx.button(
                rx.icon(rx.cond(GalleryState.selecting, "x", "square-check"), size=16),
                rx.cond(GalleryState.selecting, "Done", "Select"),
                size="2",
                variant=rx.cond(GalleryState.selecting, "solid", "soft"),
                on_click=GalleryState.toggle_selecting,
                aria_pressed=rx.cond(GalleryState.selecting, "true", "false"),
            ),
            spacing="2",
            align="center",
        ),
        width="100%",
        align="center",
        justify="between",
        spacing="3",
        wrap="wrap",
    )


def _collection_chip(item: rx.Var) -> rx.Component:
    return rx.button(
        rx.icon(rx.cond(item["share_url"] != "", "globe", "folder"), size=14),
        item["name"],
        rx.text.span(item["count"], color="var(--gray-10)"),
        size="1",
        variant=rx.cond(CollectionsState.open_collection["id"] == item["id"], "solid", "surface"),
        color_scheme="gray",
        on_click=CollectionsState.open_collection_view(item["id"]),
        aria_label="Open collection " + item["name"].to(str),
    )


def collections_row() -> rx.Component:
    """The user's collections (open one), and a new one."""
    return rx.flex(
        rx.text("Collections", size="2", weight="medium", color_scheme="gray"),
        rx.foreach(CollectionsState.collections, _collection_chip),
        rx.popover.root(
            rx.popover.trigger(
                rx.button(
                    rx.icon("folder-plus", size=14), "New collection", size="1", variant="soft"
                )
            ),
            rx.popover.content(
                rx.form(
                    rx.vstack(
                        rx.el.label("Name", html_for="collection-name", style=styles.label_style),
                        rx.input(id="collection-name", name="name", max_length=80, required=True),
                        rx.cond(
                            CollectionsState.collection_error != "",
                            rx.text(
                                CollectionsState.collection_error,
                                color_scheme="red",
                                size="1",
                                role="alert",
                            ),
                        ),
                        rx.popover.close(rx.button("Create", type="submit", size="2")),
                        spacing="2",
                        align="end",
                    ),
                    on_submit=CollectionsState.create_collection,
                    reset_on_submit=True,
                ),
                width="16rem",
            ),
        ),
        align="center",
        spacing="2",
        wrap="wrap",
        width="100%",
        on_mount=CollectionsState.load_collections,
        data_testid="collections",
    )


def _collection_card(item: rx.Var) -> rx.Component:
    """A card of the open collection, with a way to take it out (it stays in the gallery)."""
    return rx.box(
        card_fill(item),
        rx.icon_button(
            rx.icon("folder-minus", size=16),
            on_click=CollectionsState.remove_from_open_collection(item["id"]),
            aria_label="Remove from collection",
            title="Remove from collection",
            size="2",
            variant="soft",
            color_scheme="gray",
            radius="full",
            position="absolute",
            top=rx.breakpoints(initial="1rem", sm="1.5rem"),
            left=rx.breakpoints(initial="1rem", sm="1.5rem"),
            z_index="2",
            background="var(--color-panel-translucent)",
            backdrop_filter="blur(6px)",
        ),
        position="relative",
        display="flex",
        **_tile(item),
    )


def _rename_collection() -> rx.Component:
    """Rename the open collection (a popover with the name filled in)."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(rx.icon("pencil", size=14), "Rename", size="2", variant="soft")
        ),
        rx.popover.content(
            rx.form(
                rx.vstack(
                    rx.el.label("New name", html_for="collection-rename", style=styles.label_style),
                    rx.input(
                        id="collection-rename",
                        name="name",
                        default_value=CollectionsState.open_collection["name"],
                        max_length=80,
                        required=True,
                        key=CollectionsState.open_collection["id"],
                    ),
                    rx.cond(
                        CollectionsState.rename_error != "",
                        rx.text(
                            CollectionsState.rename_error,
                            color_scheme="red",
                            size="1",
                            role="alert",
                        ),
                    ),
                    rx.button("Save name", type="submit", size="2"),
                    spacing="2",
                    align="end",
                ),
                on_submit=CollectionsState.rename_open_collection,
            ),
            width="16rem",
        ),
        open=CollectionsState.renaming,
        on_open_change=CollectionsState.show_rename,
    )


def _delete_collection() -> rx.Component:
    """Delete the open collection, after one confirmation."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("trash-2", size=14),
                "Delete collection",
                size="2",
                variant="soft",
                color_scheme="red",
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this collection?"),
            rx.alert_dialog.description(
                "The collection and its public link go; its images stay in your gallery.",
                size="2",
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Keep", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Delete",
                        color_scheme="red",
                        on_click=CollectionsState.delete_open_collection,
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            max_width="24rem",
        ),
        open=CollectionsState.confirm_collection_delete,
        on_open_change=CollectionsState.ask_delete_collection,
    )


def collection_view() -> rx.Component:
    """An open collection: its name, its public link, its images (the gallery's masonry)."""
    shared = CollectionsState.open_collection["share_url"] != ""
    return rx.vstack(
        rx.flex(
            rx.button(
                rx.icon("arrow-left", size=16),
                "All images",
                variant="ghost",
                on_click=CollectionsState.close_collection_view,
            ),
            rx.heading(
                CollectionsState.open_collection["name"],
                size="4",
                as_="h3",
                style={"word-break": "break-word"},
                data_testid="collection-name",
            ),
            rx.spacer(),
            rx.flex(
                rx.cond(
                    shared,
                    rx.hstack(
                        rx.link(
                            "Public link",
                            href=CollectionsState.open_collection["share_url"],
                            is_external=True,
                            size="2",
                        ),
                        rx.button(
                            "Stop sharing",
                            size="2",
                            variant="soft",
                            color_scheme="gray",
                            on_click=CollectionsState.share_open_collection(False),
                        ),
                        align="center",
                    ),
                    rx.button(
                        rx.icon("share-2", size=16),
                        "Share collection",
                        size="2",
                        on_click=CollectionsState.share_open_collection(True),
                    ),
                ),
                _rename_collection(),
                _delete_collection(),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            align="center",
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        rx.cond(
            CollectionsState.collection_items.length() > 0,
            _masonry(
                rx.foreach(
                    CollectionsState.collection_items,
                    lambda item: rx.fragment(_collection_card(item), key=item["id"]),
                )
            ),
            rx.text(
                "Nothing here yet: choose Select, pick images, then Add to collection.",
                color_scheme="gray",
            ),
        ),
        width="100%",
        spacing="4",
        data_testid="collection-view",
    )


def gallery() -> rx.Component:
    """Search box, then the feed (down to this tab's floor) or the search results."""
    return rx.vstack(
        rx.hstack(
            rx.heading("Your images", size="5", as_="h2"),
            rx.spacer(),
            rx.box(
                rx.el.label(
                    "Search gallery",
                    html_for="search",
                    class_name="rt-sr-only",
                    style={
                        "position": "absolute",
                        "width": "1px",
                        "height": "1px",
                        "overflow": "hidden",
                        "clip": "rect(0 0 0 0)",
                    },
                ),
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    id="search",
                    placeholder="Search your images",
                    value=GalleryState.search,
                    on_change=GalleryState.set_search.debounce(250),
                    type="search",
                    width=["100%", "16rem"],
                ),
            ),
            width="100%",
            align="center",
            wrap="wrap",
            spacing="3",
        ),
        _view_bar(),
        rx.cond(GalleryState.selecting, bulk_bar()),
        # What the tab title counts (GalleryState.TITLE_SIGNAL reads it), and the browser
        # notifications when the user turned them on (Account page).
        rx.el.span(
            id="progress-signal",
            hidden=True,
            data_working=UserFeed.working_count,
            data_done=UserFeed.done_count,
            on_mount=rx.call_script(NOTICES_WATCH),
        ),
        progress_favicon(),
        _poller(),
        collections_row(),
        rx.cond(
            CollectionsState.open_collection.contains("id"),
            collection_view(),
            rx.cond(
                ~UserFeed.loaded,
                _skeleton_grid(),
                rx.cond(
                    GalleryState.querying,
                    rx.cond(
                        GalleryState.results.length() > 0,
                        _grid(GalleryState.results),
                        rx.cond(
                            GalleryState.searching,
                            rx.text(
                                "No image matches “", GalleryState.search, "”.", color_scheme="gray"
                            ),
                            rx.text(
                                "No favorites yet: tap the heart on an image to keep it here.",
                                color_scheme="gray",
                            ),
                        ),
                    ),
                    rx.cond(
                        UserFeed.items.length() > 0,
                        rx.vstack(
                            _feed_grid(),
                            rx.cond(
                                GalleryState.has_more,
                                rx.center(
                                    rx.button(
                                        "Load more",
                                        variant="soft",
                                        on_click=GalleryState.load_more,
                                        loading=GalleryState.loading_more,
                                    ),
                                    width="100%",
                                ),
                            ),
                            width="100%",
                            spacing="4",
                        ),
                        empty_state(),
                    ),
                ),
            ),
        ),
        delete_dialog(),
        bulk_delete_dialog(),
        undo_bar(),
        spacing="4",
        width="100%",
    )
