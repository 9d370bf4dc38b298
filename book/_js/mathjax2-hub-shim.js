/*
 * advlab: the ipywidgets HTML manager typesets widget labels through the
 * MathJax 2 API (MathJax.Hub.Queue), but the book loads MathJax 3, which has no
 * Hub. Give MathJax 3 a minimal Hub whose Queue(["Typeset", hub, element])
 * calls typesetPromise on that element, so widget labels with LaTeX render and
 * no "reading 'Queue'" error is thrown. Loaded before embed.js on widget pages.
 */
(function () {
  "use strict";
  var hub = {
    Queue: function (command) {
      var element = Array.isArray(command) ? command[2] : undefined;
      var mj = window.MathJax;
      if (!mj || typeof mj.typesetPromise !== "function") {
        return; // MathJax is not ready; the page typesets everything once it is
      }
      var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
      ready
        .then(function () {
          return mj.typesetPromise(element ? [element] : undefined);
        })
        .catch(function (err) {
          console.warn("advlab: MathJax could not typeset a widget label", err);
        });
    },
  };
  function install() {
    var mj = window.MathJax;
    if (mj && !mj.Hub) {
      // Not enumerable, so MathJax 3 does not read it as configuration.
      Object.defineProperty(mj, "Hub", { value: hub, configurable: true });
    }
  }
  install();
  document.addEventListener("DOMContentLoaded", install);
  window.addEventListener("load", install);
})();
