"""The suite's plugin packages, one per paper.

Each subpackage registers its modules in the ``visrep`` scope when imported
and imports ``visrep.*`` only, never a sibling.  Nothing imports them all:
:mod:`visrep.registry` imports the one plugin whose ``registered.txt`` lists a
looked-up name, and a config may import one explicitly with
``custom_imports = dict(imports=['visrep.projects.<plugin>'])``.
"""
