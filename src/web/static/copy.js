// Copy buttons: <button data-copy="ELEMENT_ID" data-status="STATUS_ID">. No inline scripts: the CSP forbids them.
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  button.addEventListener('click', function () {
    var source = document.getElementById(button.getAttribute('data-copy'));
    var status = document.getElementById(button.getAttribute('data-status') || 'copy-status');
    if (!source) return;
    if (!navigator.clipboard) { if (status) status.textContent = 'Select the text and copy it by hand.'; return; }
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () { if (status) status.textContent = 'Copied.'; },
      function () { if (status) status.textContent = 'Select the text and copy it by hand.'; }
    );
  });
});
