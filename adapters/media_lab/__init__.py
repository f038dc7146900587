"""Media Lab processing: upscale, frame interpolation, generation from references and blending,
on the CPU (`embedded`) or on a ComfyUI server (`comfyui`), behind one `MediaLab` protocol.

The jobs layer (the `media` graph, uploads store, API, CLI, UI) builds on `protocol`, `params`
and `probe`; nothing here knows about jobs, users or Postgres.
"""
