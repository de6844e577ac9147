"""The composition root: the ``dbbackup-operator`` command, the operator's wiring, the sandbox.

The one package that wires every other one together (docs/design.md §1, "Packages"):
:mod:`app.cli` parses the command line (flags in :mod:`app.flags`) and dispatches;
:mod:`app.operator` builds the Manager with the DatabaseBackup and DatabaseRestore controllers;
:mod:`app.sandbox` and its helpers run the operator against the API emulator on one machine.
Nothing of ours imports this package. It is named ``app`` as Kubernetes' own binaries name the
package that assembles each of them (``cmd/<binary>/app``); ``cmd``, kubebuilder's directory
name, would shadow Python's standard ``cmd`` module, which ``pdb`` imports.
"""
