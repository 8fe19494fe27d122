"""The ways in: the ``psasync`` command (:mod:`psasync.entrypoints.cli`) and ``psasync demo``
(:mod:`psasync.entrypoints.demo`). They wire the layers together; nothing imports them."""
