"use strict";
// Say why the last sign-in did not work (the server names the problem in the address).
(function () {
  const problems = {
    wrong: "That name and password do not match.",
    locked: "Too many failed sign-ins; try again later.",
    empty: "Give a name and a password.",
    form: "That form was too large.",
  };
  const found = new URLSearchParams(window.location.search).get("problem");
  if (found && problems[found]) {
    const box = document.getElementById("problem");
    box.textContent = problems[found];
    box.hidden = false;
  }
})();
