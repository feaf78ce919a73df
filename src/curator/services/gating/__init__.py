"""The store-driven side of the gates: run the pure verdict functions of `curator.gates` over what the
store holds, doing only new work, in short transactions (`runner`: the per-example rule gates, the
meaning gates and each candidate's status; `lexical`: dedup and decontamination on sketches). The use
case that strings them together is `curator.services.gate.run_gates`."""
