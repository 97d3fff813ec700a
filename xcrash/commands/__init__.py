"""The commands, one module per command family.

To add a command: subclass :class:`base.Command` (name, synopsis, summary,
options, group, targets; ``run(ctx, args)`` returns records (``xcrash.results.Records``), never prints)
and list the class in the module's ``COMMANDS = [...]``.  The registry finds
every module of this package by itself.  Keep module imports light: import
capstone, rich and the like inside ``run``.

Other packages add commands through the ``xcrash.commands`` entry points, each
naming a Command subclass or a list of them::

    [project.entry-points."xcrash.commands"]
    mycmd = "mypkg.commands:MyCommand"
"""
