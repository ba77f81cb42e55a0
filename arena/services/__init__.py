"""Every write goes through a function here, named `<entity>_<action>` with keyword-only arguments.

Tasks and consumers are thin: they call one of these with ids and plain values.
"""
