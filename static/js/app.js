// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  // "select all" checkbox in batch tables: <input type="checkbox" data-select-all="name">
  document.querySelectorAll("[data-select-all]").forEach(function (master) {
    master.addEventListener("change", function () {
      document.querySelectorAll('input[type=checkbox][name="' + master.dataset.selectAll + '"]').forEach(function (cb) {
        cb.checked = master.checked;
      });
    });
  });
  // confirm before destructive actions: <button data-confirm="...">
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (!window.confirm(el.dataset.confirm)) { ev.preventDefault(); }
    });
  });
  // add a row to a formset: <button data-formset-add="prefix"> with <template id="prefix-empty">
  document.querySelectorAll("[data-formset-add]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var prefix = btn.dataset.formsetAdd;
      var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
      var tpl = document.getElementById(prefix + "-empty");
      var body = document.getElementById(prefix + "-rows");
      if (!total || !tpl || !body) { return; }
      var index = parseInt(total.value, 10);
      body.insertAdjacentHTML("beforeend", tpl.innerHTML.replace(/__prefix__/g, index));
      total.value = index + 1;
    });
  });
});
