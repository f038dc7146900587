"""The video format: scenes, script, keyframes, animation, voice and the final cut."""
