// The adoption board's drag and drop: an enhancement on top of each card's
// move form, never the only way. Dropping a card on a column chooses that
// column's stage in the card's own form and submits it; htmx posts it and the
// answer moves the card (or says on the card why it did not move). Without
// this file, without SortableJS or without a mouse, the forms do the same.
(function () {
  "use strict";

  var LISTS = ".app-board__cards[data-stage]";

  function announce(text) {
    var status = document.getElementById("board-status");
    if (status) {
      status.textContent = text;
    }
  }

  function optionFor(select, stage) {
    for (var i = 0; i < select.options.length; i += 1) {
      if (select.options[i].value === stage) {
        return select.options[i];
      }
    }
    return null;
  }

  // Open a card's "Add a reason" details when the stage chosen asks for one.
  function showReason(select) {
    var option = select.options[select.selectedIndex];
    var details = select.form && select.form.querySelector(".app-move__more");
    if (option && details && option.getAttribute("data-needs")) {
      details.open = true;
    }
  }

  // Dragging leaves style attributes on the cards it touched, which htmx
  // would copy onto a card's new self when it swaps one in: an inline style
  // the page's Content-Security-Policy refuses. The board needs none.
  function tidy() {
    var styled = document.querySelectorAll(".app-board [style]");
    Array.prototype.forEach.call(styled, function (element) {
      element.removeAttribute("style");
    });
  }

  function putBack(evt) {
    var before = evt.from.children[evt.oldIndex] || null;
    evt.from.insertBefore(evt.item, before);
  }

  function onDrop(evt) {
    tidy();
    if (evt.from === evt.to) {
      return;
    }
    var card = evt.item;
    var stage = evt.to.getAttribute("data-stage");
    var stageName = evt.to.getAttribute("data-stage-name") || stage;
    // The card goes back where it was: the server's answer moves it.
    putBack(evt);
    var form = card.querySelector("form.app-move");
    var select = form && form.querySelector("select[name='to_stage']");
    if (!select || !optionFor(select, stage)) {
      announce("This card cannot move to " + stageName + " from where it is. Its form lists where it can go.");
      return;
    }
    select.value = stage;
    showReason(select);
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.querySelector("button[type='submit']").click();
    }
  }

  function enhance(root) {
    if (typeof window.Sortable === "undefined" || !root.querySelectorAll) {
      return;
    }
    var lists = root.matches && root.matches(LISTS) ? [root] : root.querySelectorAll(LISTS);
    Array.prototype.forEach.call(lists, function (list) {
      if (list.getAttribute("data-sortable") === "on") {
        return;
      }
      list.setAttribute("data-sortable", "on");
      window.Sortable.create(list, {
        group: "board",
        sort: false,
        draggable: ".app-card--movable",
        // Let the form's own controls be used as ever.
        filter: "a, button, input, select, textarea, label, summary, .nhsuk-details__text",
        preventOnFilter: false,
        // Sortable's own pointer dragging, the same in every browser (and
        // under automation), rather than the browser's native drag events.
        forceFallback: true,
        fallbackTolerance: 4,
        delayOnTouchOnly: true,
        delay: 150,
        ghostClass: "app-card--ghost",
        chosenClass: "app-card--chosen",
        onEnd: onDrop,
      });
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches(".app-move select[name='to_stage']")) {
      showReason(target);
    }
  });

  // A move htmx could not make at all (the form expired, the service failed).
  document.addEventListener("htmx:responseError", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.matches && elt.matches("form.app-move")) {
      announce("The move could not be made. Reload the board and try again.");
    }
  });

  if (window.htmx && typeof window.htmx.onLoad === "function") {
    // Every part of the page htmx loads, the first page included.
    window.htmx.onLoad(enhance);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      enhance(document);
    });
  }
})();
