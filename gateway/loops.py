"""One object per running event loop: each process's hubs (the feed's, the chat rooms').

A hub serves the connections of one event loop (daphne's, in the daemon; each
test's own, in the tests), so it is made on first use in that loop and
forgotten with it.
"""

import asyncio
import weakref


class PerLoop:
    def __init__(self, make):
        self.make = make  # () -> an object with start()
        self.made = weakref.WeakKeyDictionary()  # event loop -> its object

    def get(self):
        """The running loop's object, made and started on first use."""
        loop = asyncio.get_running_loop()
        made = self.made.get(loop)
        if made is None:
            made = self.made[loop] = self.make()
            made.start()
        return made

    def running(self):
        """The running loop's object if one was made, else None."""
        return self.made.get(asyncio.get_running_loop())
