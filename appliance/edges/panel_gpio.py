"""The status panel's parts on the GPIO header, through gpiozero: three lights, a button, a buzzer.

The only module that imports gpiozero. Must not import storage, content, services or web.

Wiring (BCM numbers are the defaults in docs/settings.md; physical header pins in brackets):

* Each light: GPIO pin -> 330 ohm resistor -> LED anode (long leg); LED cathode (short leg,
  flat side of the rim) -> any GND (pin 14 sits between the lights). 330 ohm keeps a red,
  yellow or green LED near 4 mA at 3.3 V, well under the 16 mA a Pi pin may source.
  serving = GPIO17 [11], sync = GPIO27 [13], fault = GPIO22 [15].
* The button: GPIO3 [5] -> push button -> GND [6]. No resistor: GPIO3 has a pull-up on the
  board, so the pin reads high until the button shorts it to ground. A press on GPIO3 also
  wakes a halted Pi. Keep I2C off (it uses GPIO3) and do not enable dtoverlay=gpio-shutdown.
* The buzzer (optional): an *active* 3.3 V buzzer, + to its GPIO pin, - to GND; one that
  draws more than 16 mA needs a transistor.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable

from gpiozero import LED, Button, Buzzer, Device
from gpiozero.exc import BadPinFactory, GPIOZeroError, PinWarning

log = logging.getLogger(__name__)

# A real button bounces for a few milliseconds; without this one press would read as several.
BOUNCE_S = 0.05
HOW_TO_GET_GPIO = (
    "on a Raspberry Pi install python3-lgpio (sudo apt install python3-lgpio) and run the panel "
    "as a member of the gpio group, or set GPIOZERO_PIN_FACTORY (lgpio, rpigpio, pigpio, native)"
)


@dataclasses.dataclass(frozen=True)
class PanelPins:
    """BCM numbers of the panel's parts; `buzzer` is None when there is none."""

    serving: int
    sync: int
    fault: int
    button: int
    buzzer: int | None = None


class PanelHardware:
    """Claimed pins: `show(name, on)` drives one output, `close()` gives every pin back."""

    def __init__(self, outputs: dict, button: Button, factory, owns_factory: bool) -> None:
        self._outputs, self._button = outputs, button
        self._factory, self._owns_factory = factory, owns_factory

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self._outputs)

    def show(self, name: str, on: bool) -> None:
        """Light (or darken) output `name`; names without a part (no buzzer) are ignored."""
        device = self._outputs.get(name)
        if device is not None and bool(device.value) != on:
            device.value = on

    def close(self) -> None:
        """Switch everything off and release every pin, so another process may claim them."""
        for device in (*self._outputs.values(), self._button):
            device.close()
        if self._owns_factory:
            self._factory.close()


def _default_factory() -> tuple[object | None, list[str]]:
    """gpiozero's own choice of pin library, with what it tried; its fallback warnings become text."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PinWarning)
        try:
            # The private helper is what Device uses lazily (gpiozero/devices.py); calling it
            # here keeps the factory ours to close and honours GPIOZERO_PIN_FACTORY.
            factory = Device._default_pin_factory()
        except BadPinFactory as exc:
            return None, [str(w.message) for w in caught] + [str(exc)]
    return factory, [str(w.message) for w in caught if issubclass(w.category, PinWarning)]


def _claim(pins: PanelPins, on_button: Callable[[bool], None], factory) -> tuple[dict, Button]:
    outputs, button = {}, None
    try:
        outputs["serving"] = LED(pins.serving, pin_factory=factory)
        outputs["sync"] = LED(pins.sync, pin_factory=factory)
        outputs["fault"] = LED(pins.fault, pin_factory=factory)
        if pins.buzzer is not None:
            outputs["buzzer"] = Buzzer(pins.buzzer, pin_factory=factory)
        button = Button(pins.button, pull_up=True, bounce_time=BOUNCE_S, pin_factory=factory)
    except BaseException:
        for device in outputs.values():
            device.close()
        raise
    button.when_pressed = lambda: on_button(True)
    button.when_released = lambda: on_button(False)
    return outputs, button


def open_panel(pins: PanelPins, on_button: Callable[[bool], None], factory=None) -> PanelHardware | None:
    """Claim the panel's pins (gpiozero's default factory unless one is given); None, with one warning, without GPIO."""
    owns = factory is None
    tried: list[str] = []
    if owns:
        factory, tried = _default_factory()
        if factory is None:
            log.warning("running without a panel: no GPIO found (tried: %s); %s.", "; ".join(tried), HOW_TO_GET_GPIO)
            return None
    try:
        outputs, button = _claim(pins, on_button, factory)
    except (GPIOZeroError, OSError) as exc:
        if owns:
            factory.close()
        log.warning(
            "running without a panel: the GPIO pins could not be claimed with %s (%s); %s.",
            type(factory).__name__,
            exc,
            HOW_TO_GET_GPIO,
        )
        return None
    if tried:
        log.warning(
            "panel GPIO through %s, a slower fallback (tried: %s); %s.",
            type(factory).__name__,
            "; ".join(tried),
            HOW_TO_GET_GPIO,
        )
    return PanelHardware(outputs, button, factory, owns)
