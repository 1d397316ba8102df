"""Recording an episode as an animated GIF: a frame of an environment rendered in ``rgb_array`` mode, and
the frames written as a looping GIF.

Example:
    >>> from learnable.rl.envs import make_env
    >>> env = make_env("FrozenLake-v1", render_mode="rgb_array")
    >>> _ = env.reset(seed=0)
    >>> record_gif([render_frame(env, "FrozenLake-v1")], "/tmp/start.gif").name
    'start.gif'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from learnable.utils.files import write_atomically


def render_frame(env: Any, env_id: str) -> np.ndarray:
    """The (H, W, 3) RGB image of ``env`` now (made with ``render_mode="rgb_array"``)."""
    frame = env.render()
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        raise ValueError(f"{env_id} did not render an RGB image in render_mode='rgb_array'; it cannot be "
                         "recorded as a GIF. Leave out record=.")
    return frame


def record_gif(frames: list[np.ndarray], path: str | Path, *, fps: float = 30.0) -> Path:
    """Write RGB frames (each (H, W, 3) uint8) as a looping GIF at ``fps`` frames per second, atomically.

    Example:
        >>> frames = [np.full((8, 8, 3), shade, dtype=np.uint8) for shade in (0, 128, 255)]
        >>> record_gif(frames, "/tmp/example.gif", fps=4).name
        'example.gif'
    """
    from PIL import Image

    if not frames:
        raise ValueError("record_gif got no frames; expected at least one (H, W, 3) RGB image.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(frame, dtype=np.uint8)) for frame in frames]
    duration = max(20, round(1000 / fps))  # milliseconds per frame; browsers clamp below 20 ms
    return write_atomically(path, lambda handle: images[0].save(handle, format="GIF", save_all=True,
                                                                 append_images=images[1:], duration=duration, loop=0))
