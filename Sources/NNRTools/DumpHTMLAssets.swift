/// The style and script of the HTML pages (`nnr dump --format html`, `nnr check --format html`).
/// The page's Content-Security-Policy admits exactly these two by their SHA-256.
///
/// The script reads the per-unit data blocks (`script.ud`, JSON) and the file's bytes
/// (`script.bytes`, base64) and builds DOM nodes with `textContent` only. Data of a unit:
/// `sections`: [name, offset, size, elements, derived]; element: [name, descriptor, bit position,
/// bit width, bits, value, symbol, derived]; derived: [name, value, note]; `warnings`: [element,
/// bit position, message]; `problems`; `tensors` (indices into the tensor table).
/// `#selftest` in the URL opens every unit, selects fields and bytes and records the outcome in
/// `data-selftest` on `<html>`; script errors are recorded in `data-script-errors`.
enum HTMLAssets {
    static let style = #"""
:root{--fg:#1d2330;--mut:#5d6677;--bg:#f6f7f9;--card:#fff;--line:#dfe3ea;--acc:#3b6ea8;--hdr:#dbe7f5;--pay:#f3e9da;--hdr2:#c9dbef;--pay2:#ecdcc4;--sel:#ffd54a;--err:#e5534b}
*{box-sizing:border-box}
body{margin:0;font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;align-items:baseline;gap:14px;padding:10px 18px;background:#1f3a5f;color:#fff}
header.top h1{font-size:17px;margin:0;letter-spacing:.3px}
header.top .sub{opacity:.85;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
main{padding:12px 18px}
footer{padding:8px 18px 16px;color:var(--mut);font-size:11px}
section.file{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;margin-bottom:16px}
.file-head{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap}
.file-head h2{font-size:14px;margin:0;font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.meta{color:var(--mut)}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:11px;font-weight:600;margin-left:6px}
.badge.ok{background:#dff3e4;color:#1e6b34}.badge.bad{background:#fbe1df;color:#a1261e}.badge.warn{background:#fff1cc;color:#7a5a00}
.file-body{display:grid;grid-template-columns:minmax(0,1fr) 556px;gap:14px;margin-top:8px}
h3{font-size:13px;margin:6px 0;color:#2a3446}
h3 button,.more,.show-error{font:inherit;font-size:11px;padding:1px 8px;border:1px solid var(--line);border-radius:4px;background:#f2f4f7;cursor:pointer;margin-left:6px}
details.unit{border:1px solid var(--line);border-radius:6px;margin:4px 0;background:#fbfcfd}
details.unit>summary{cursor:pointer;padding:4px 8px;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
details.unit[open]>summary{background:#eef3f9;border-bottom:1px solid var(--line)}
details.unit details.unit{margin:6px 8px}
details.partial{border-color:var(--err)}
.ui{color:var(--mut);min-width:2.5em}.ut{font-weight:700;color:var(--acc)}.uo,.us,.uh{color:var(--mut)}
.t-NNR_NDU>summary .ut{color:#b0641c}
.secs{padding:2px 8px 6px}
.sec h4{margin:8px 0 2px;font:600 12px ui-monospace,Menlo,Consolas,monospace;color:#2a3446}
.sec h4 span{color:var(--mut);font-weight:400}
.tree{min-width:0}
table.fields{border-collapse:collapse;width:100%;table-layout:fixed;font:12px ui-monospace,Menlo,Consolas,monospace}
table.fields td{padding:1px 4px;border-bottom:1px solid #eef0f4;vertical-align:top;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
table.fields td:nth-child(1){width:50px}table.fields td:nth-child(2){width:88px}table.fields td:nth-child(3){width:32px;text-align:right}
table.fields td:nth-child(4){width:84px}table.fields td:nth-child(6){width:88px}table.fields td:nth-child(7){width:78px}
table.fields tr.der td{white-space:normal;overflow-wrap:anywhere}
table.fields tr.f{cursor:pointer}
table.fields tr.f:hover{background:#f1f6fc}
table.fields tr.selrow{background:#fff3c4}
table.fields td.off{color:var(--mut)}table.fields td.d{color:#6a4c93}table.fields td.b{color:#2f7d4a}table.fields td.m{color:var(--acc)}
table.fields td.n{font-weight:600}
table.fields tr.der td{color:var(--mut);font-style:italic}
.warns li{color:#7a5a00}
aside.side{position:relative}
.hexpanel{position:sticky;top:8px;border:1px solid var(--line);border-radius:6px;background:#fff;padding:6px 8px}
.hexbar{display:flex;gap:10px;align-items:center;margin-bottom:4px}
.legend{color:var(--mut);font-size:11px;flex:1}
.k{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 3px 0 6px;vertical-align:-1px}
.k.hdr{background:var(--hdr2)}.k.pay{background:var(--pay2)}.k.sel{background:var(--sel)}.k.err{background:var(--err)}
.goto{width:110px;font:12px ui-monospace,Menlo,Consolas,monospace;padding:1px 4px}
.hex{position:relative;height:432px;overflow-y:auto;font:12px/18px ui-monospace,Menlo,Consolas,monospace;border-top:1px solid var(--line);outline:none}
.hexrows{position:absolute;left:0;right:0;top:0}
.row{height:18px;white-space:pre;display:flex}
.row .o{color:var(--mut);width:76px}
.row span.b{width:20px;text-align:center;cursor:pointer;border-radius:2px}
.row span.b:nth-child(9){margin-left:6px}
.row .a{margin-left:10px;color:#444;letter-spacing:.5px}
.b.h0{background:var(--hdr)}.b.h1{background:var(--hdr2)}.b.p0{background:var(--pay)}.b.p1{background:var(--pay2)}
.b.sel{background:var(--sel)!important;color:#000;font-weight:700}
.b.err{background:var(--err)!important;color:#fff}
.b.na{visibility:hidden}
.selinfo{margin-top:6px;font:12px ui-monospace,Menlo,Consolas,monospace;min-height:2.9em;word-break:break-all}
.selinfo b{color:var(--acc)}
.bits{font:12px ui-monospace,Menlo,Consolas,monospace;display:flex;flex-wrap:wrap;gap:6px;margin-top:4px}
.bits .byte{border:1px solid var(--line);border-radius:3px;padding:0 3px}
.bits .byte small{color:var(--mut);margin-right:3px}
.bits i{font-style:normal;color:#aab}
.bits i.on{color:#000;background:var(--sel);font-weight:700}
.error{border:1px solid var(--err);background:#fff5f4;border-radius:6px;padding:4px 12px;margin:12px 0}
.error h3{color:#a1261e}
.error pre{font:12px ui-monospace,Menlo,Consolas,monospace;margin:4px 0}
.error mark{background:var(--err);color:#fff}
.overview,.tensors{margin-top:12px}
.keys{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 14px;color:var(--mut);font-size:11px}
svg.chart{display:block;font:11px system-ui,sans-serif;fill:#333;max-width:100%;height:auto}
svg.hist{display:inline-block;vertical-align:middle;margin-right:6px}
.hs{color:var(--mut);font-size:11px}
table.tt{border-collapse:collapse;margin-top:8px;font:12px ui-monospace,Menlo,Consolas,monospace}
table.tt th{text-align:left;background:#eef3f9;padding:3px 8px;border-bottom:1px solid var(--line);font-weight:600}
table.tt td{padding:2px 8px;border-bottom:1px solid #eef0f4;white-space:nowrap}
table.tt td.name{white-space:normal;word-break:break-all;font-weight:600}
table.tt tr{cursor:pointer}
table.tt tr:hover td{background:#f1f6fc}
.role{color:var(--mut);font-weight:400}
.note{color:var(--mut);font-size:11px}
.check{margin:6px 0 10px}.check table.tt{margin-bottom:8px}
table.rules td.sev-error{color:#a1261e;font-weight:700}table.rules td.sev-warning{color:#7a5a00;font-weight:700}
@media (max-width:1100px){.file-body{grid-template-columns:1fr}.hexpanel{position:static}}
"""#

    static let script = #"""
(function(){
'use strict';
var root=document.documentElement,errs=[];
function report(m){errs.push(String(m));root.setAttribute('data-script-errors',errs.join(' | '));}
window.addEventListener('error',function(e){report(e.message||'error');});
window.addEventListener('unhandledrejection',function(e){report('unhandled rejection: '+(e.reason&&e.reason.message||e.reason));});
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
function td(cls,text){return el('td',cls,text);}
function hx2(n){return (n<16?'0':'')+n.toString(16);}
function hx8(n){var s=n.toString(16);while(s.length<8)s='0'+s;return s;}
var CHUNK=400;
document.querySelectorAll('i.k[data-colour]').forEach(function(k){k.style.background=k.getAttribute('data-colour');});
var files=[];
document.querySelectorAll('section.file').forEach(function(sec){files.push(initFile(sec));});

function initFile(sec){
  var F={sec:sec,size:+sec.getAttribute('data-size')||0,units:[],index:null,sel:null,selRow:null};
  var b=sec.querySelector('script.bytes');F.b64=b?b.textContent.replace(/\s+/g,''):'';
  F.hasBytes=F.b64.length>0;
  sec.querySelectorAll('details.unit').forEach(function(d){
    F.units.push({el:d,index:+d.getAttribute('data-unit-index'),offset:+d.getAttribute('data-offset'),size:+d.getAttribute('data-size'),header:+d.getAttribute('data-header'),depth:+d.getAttribute('data-depth'),type:d.querySelector('summary .ut').textContent});
    d.addEventListener('toggle',function(){if(d.open)renderUnit(F,d);});
  });
  F.units.sort(function(a,b){return a.offset-b.offset||a.depth-b.depth;});
  var er=sec.querySelector('div.error');
  F.errByte=er?+er.getAttribute('data-byte'):-1;F.errBit=er?+er.getAttribute('data-bit'):0;
  if(er){er.querySelector('.show-error').addEventListener('click',function(){select(F,F.errByte*8+F.errBit,F.errByte*8+F.errBit+1,[el('b',null,'error'),' at byte '+F.errByte+' bit '+F.errBit]);});}
  var ea=sec.querySelector('button.expand-all');
  if(ea)ea.addEventListener('click',function(){var open=ea.textContent==='open all';F.units.forEach(function(u){u.el.open=open;});ea.textContent=open?'close all':'open all';});
  sec.querySelector('.tree').addEventListener('click',function(e){
    var tr=e.target.closest('tr.f');if(!tr)return;
    var d=tr.closest('details.unit');selectField(F,unitOf(F,d),+tr.getAttribute('data-s'),+tr.getAttribute('data-e'),false);
  });
  sec.querySelectorAll('table.tt tbody tr[data-tensor-name]').forEach(function(tr){
    tr.addEventListener('click',function(){selectTensor(F,tr);});
  });
  sec.querySelectorAll('tr.violation').forEach(function(tr){
    tr.addEventListener('click',function(){selectViolation(F,tr);});
  });
  // The hex view: only the rows in sight exist.
  F.hex=sec.querySelector('.hex');F.rowsEl=sec.querySelector('.hexrows');F.spacer=sec.querySelector('.hexspacer');
  F.rowH=18;F.rows=Math.max(1,Math.ceil(F.size/16));F.full=F.rows*F.rowH;F.spacerH=Math.min(F.full,8e6);F.scaled=F.full>F.spacerH;
  F.spacer.style.height=F.spacerH+'px';
  if(F.full<432)F.hex.style.height=(F.full+2)+'px';
  F.hex.addEventListener('scroll',function(){drawHex(F);});
  F.rowsEl.addEventListener('click',function(e){
    var s=e.target.closest('span.b');if(!s)return;
    var o=+s.parentNode.getAttribute('data-o')+(+s.getAttribute('data-c'));if(o<F.size)selectByte(F,o);
  });
  var g=sec.querySelector('input.goto');
  g.addEventListener('change',function(){var v=g.value.trim(),o=/^0x/i.test(v)?parseInt(v,16):parseInt(v,10);if(o>=0&&o<F.size){scrollToByte(F,o);selectByte(F,o);}});
  F.info=sec.querySelector('.selinfo');F.bitsEl=sec.querySelector('.bits');
  drawHex(F);
  return F;
}

function unitOf(F,d){for(var i=0;i<F.units.length;i++)if(F.units[i].el===d)return F.units[i];return null;}
function data(u){if(!u.data){var s=u.el.querySelector('script.ud');u.data=s?JSON.parse(s.textContent):{sections:[],warnings:[],problems:[],tensors:[]};}return u.data;}

function renderUnit(F,d){
  var u=unitOf(F,d);if(!u||u.rendered)return;u.rendered=true;
  var box=d.querySelector('.secs'),D=data(u);
  D.sections.forEach(function(s,si){
    var sec=el('div','sec');var h=el('h4',null,s[0]+'() ');h.appendChild(el('span',null,'@'+s[1]+' · '+s[2]+' byte'+(s[2]===1?'':'s')));sec.appendChild(h);
    var t=el('table','fields');var tb=el('tbody');t.appendChild(tb);sec.appendChild(t);
    function rows(from){
      var to=Math.min(s[3].length,from+CHUNK);
      for(var ei=from;ei<to;ei++){
        var e=s[3][ei],tr=el('tr','f');tr.setAttribute('data-s',si);tr.setAttribute('data-e',ei);
        tr.appendChild(td('off',(e[2]>>3)+'.'+(e[2]&7)));tr.appendChild(td('d',e[1]));tr.appendChild(td('w',e[3]));
        var bt=td('b',e[4]);bt.title=e[4];tr.appendChild(bt);var nm=td('n',e[0]),vl=td('v',e[5]);nm.title=e[0];vl.title=e[5];tr.appendChild(nm);tr.appendChild(vl);tr.appendChild(td('m',e[6]));
        tb.appendChild(tr);
        e[7].forEach(function(x){var r=el('tr','der'),c=td(null,'\u2192 '+x[0]+' = '+x[1]+(x[2]?'  ('+x[2]+')':''));c.colSpan=7;r.appendChild(c);tb.appendChild(r);});
      }
      if(to<s[3].length){var m=el('button','more','show '+Math.min(CHUNK,s[3].length-to)+' more of '+(s[3].length-to));m.type='button';
        m.addEventListener('click',function(){m.remove();rows(to);});sec.appendChild(m);}
    }
    rows(0);
    s[4].forEach(function(x){sec.appendChild(el('div','der','\u2192 '+x[0]+' = '+x[1]+(x[2]?'  ('+x[2]+')':'')));});
    box.appendChild(sec);
  });
  if(D.warnings.length||D.problems.length){var ul=el('ul','warns');
    D.warnings.forEach(function(w){ul.appendChild(el('li',null,'warning at '+(w[1]>>3)+'.'+(w[1]&7)+' '+w[0]+': '+w[2]));});
    D.problems.forEach(function(p){ul.appendChild(el('li',null,p));});box.appendChild(ul);}
}

function ensureRows(u,si,ei){
  var tr=u.el.querySelector('tr.f[data-s="'+si+'"][data-e="'+ei+'"]');
  while(!tr){var m=u.el.querySelectorAll('.sec')[si];var more=m&&m.querySelector('button.more');if(!more)return null;more.click();tr=u.el.querySelector('tr.f[data-s="'+si+'"][data-e="'+ei+'"]');}
  return tr;
}

function openTo(u){var d=u.el;while(d){if(d.tagName==='DETAILS'&&!d.open)d.open=true;d=d.parentElement;}}

function selectField(F,u,si,ei,scrollTree){
  if(!u)return;var e=data(u).sections[si][3][ei];
  openTo(u);renderUnit(F,u.el);
  var tr=ensureRows(u,si,ei);
  if(F.selRow)F.selRow.classList.remove('selrow');F.selRow=tr;if(tr){tr.classList.add('selrow');if(scrollTree)tr.scrollIntoView({block:'nearest'});}
  select(F,e[2],e[2]+Math.max(1,e[3]),[el('b',null,e[0]),' = '+e[5]+(e[6]?' ('+e[6]+')':''),el('br'),e[1]+' at '+(e[2]>>3)+'.'+(e[2]&7)+', '+e[3]+' bit'+(e[3]===1?'':'s')+' · unit '+u.index+' '+data(u).sections[si][0]+'()']);
}

function selectTensor(F,tr){
  var ui=+tr.getAttribute('data-unit'),u=null;
  for(var i=0;i<F.units.length;i++)if(F.units[i].index===ui&&F.units[i].depth===0){u=F.units[i];break;}
  if(!u)return;openTo(u);renderUnit(F,u.el);
  var a=u.offset+u.header,b=u.offset+u.size;
  select(F,a*8,Math.max(a+1,b)*8,[el('b',null,tr.getAttribute('data-tensor-name')),' · payload of unit '+u.index+', bytes '+a+'..'+(b-1)]);
}

function selectViolation(F,tr){
  var b=+tr.getAttribute('data-byte'),k=+tr.getAttribute('data-bit'),c=tr.querySelectorAll('td');
  if(b>=F.size){select(F,F.size*8,F.size*8+1,[el('b',null,c[0].textContent),' at the end of the file: '+c[5].textContent]);return;}
  var u=unitAt(F,b);if(u){openTo(u);renderUnit(F,u.el);}
  select(F,b*8+k,b*8+k+1,[el('b',null,c[0].textContent),' at '+b+'.'+k+' '+c[4].textContent+': '+c[5].textContent]);
}

function buildIndex(F){
  if(F.index)return F.index;var ix=[];
  F.units.forEach(function(u){data(u).sections.forEach(function(s,si){s[3].forEach(function(e,ei){if(e[3]>0)ix.push([e[2],e[2]+e[3],u,si,ei]);});});});
  ix.sort(function(a,b){return a[0]-b[0];});F.index=ix;return ix;
}

function fieldAt(F,o){
  var ix=buildIndex(F),lo=0,hi=ix.length-1,pos=-1,bit=o*8;
  while(lo<=hi){var m=(lo+hi)>>1;if(ix[m][0]<=bit+7){pos=m;lo=m+1;}else hi=m-1;}
  for(var k=pos;k>=0&&k>pos-64;k--){var f=ix[k];if(f[1]>bit&&f[0]<=bit+7)return f;}
  return null;
}

function unitAt(F,o){
  var us=F.units,lo=0,hi=us.length-1,pos=-1;
  while(lo<=hi){var m=(lo+hi)>>1;if(us[m].offset<=o){pos=m;lo=m+1;}else hi=m-1;}
  for(var k=pos;k>=0&&k>pos-16;k--){var u=us[k];if(o<u.offset+u.size)return u;}
  return null;
}

function selectByte(F,o){
  var f=fieldAt(F,o);
  if(f){selectField(F,f[2],f[3],f[4],true);return;}
  var u=unitAt(F,o);
  if(!u){select(F,o*8,o*8+8,['byte '+o+' (not in a unit)']);return;}
  openTo(u);renderUnit(F,u.el);
  var a=u.offset+u.header,b=u.offset+u.size,names=[];
  F.sec.querySelectorAll('table.tt tbody tr[data-unit="'+u.index+'"]').forEach(function(tr){names.push(tr.getAttribute('data-tensor-name'));});
  if(o>=a&&b>a){select(F,a*8,b*8,[el('b',null,'payload'),' of unit '+u.index+' '+u.type+', bytes '+a+'..'+(b-1)+(names.length?' · '+names.join(', '):'')]);}
  else select(F,o*8,o*8+8,['byte '+o+' of unit '+u.index+' '+u.type]);
  u.el.scrollIntoView({block:'nearest'});
}

function select(F,start,end,parts){
  F.sel=[start,end];
  F.info.textContent='';parts.forEach(function(p){F.info.appendChild(typeof p==='string'?document.createTextNode(p):p);});
  F.bitsEl.textContent='';
  var a=start>>3,z=Math.min(F.size,(end+7)>>3),n=Math.min(z-a,8);
  if(F.hasBytes)for(var i=0;i<n;i++){
    var o=a+i,v=byteAt(F,o),box=el('span','byte');box.appendChild(el('small',null,o+':'));
    for(var k=0;k<8;k++){var bit=o*8+k;box.appendChild(el('i',bit>=start&&bit<end?'on':null,(v>>(7-k))&1));}
    F.bitsEl.appendChild(box);
  }
  if(z-a>n)F.bitsEl.appendChild(el('span',null,'\u2026 '+(z-a-n)+' more bytes'));
  scrollToByte(F,a);
}

function byteAt(F,o){var r=bytes(F,o,o+1);return r.bin.charCodeAt(o-r.base);}
function bytes(F,lo,hi){
  var s=Math.floor(lo/3)*3,e=Math.min(F.size,Math.ceil(hi/3)*3);
  var bin=F.hasBytes?atob(F.b64.substring(s/3*4,Math.ceil(e/3)*4)):'';
  return {base:s,bin:bin};
}

function visibleRows(F){return Math.ceil(F.hex.clientHeight/F.rowH)+1;}
function firstRow(F){
  var st=F.hex.scrollTop;if(!F.scaled)return Math.floor(st/F.rowH);
  var max=F.spacerH-F.hex.clientHeight;return max>0?Math.round(st/max*Math.max(0,F.rows-visibleRows(F))):0;
}
function scrollToByte(F,o){
  var r=Math.floor(o/16),vis=visibleRows(F),first=firstRow(F);
  if(r>=first+1&&r<first+vis-2){drawHex(F);return;}
  var want=Math.max(0,r-3);
  if(!F.scaled)F.hex.scrollTop=want*F.rowH;
  else F.hex.scrollTop=want/Math.max(1,F.rows-vis)*(F.spacerH-F.hex.clientHeight);
  drawHex(F);
}

function drawHex(F){
  var first=firstRow(F),n=visibleRows(F),last=Math.min(F.rows,first+n);
  F.rowsEl.style.top=(F.scaled?F.hex.scrollTop:first*F.rowH)+'px';
  F.rowsEl.textContent='';
  if(!F.hasBytes){F.rowsEl.appendChild(el('div','row','(the bytes are not in this page)'));return;}
  var r=bytes(F,first*16,last*16),frag=document.createDocumentFragment();
  for(var row=first;row<last;row++){
    var div=el('div','row'),ro=row*16;div.setAttribute('data-o',ro);div.appendChild(el('span','o',hx8(ro)));
    var asc='';
    for(var c=0;c<16;c++){
      var o=ro+c,s=el('span','b');s.setAttribute('data-c',c);
      if(o>=F.size){s.className='b na';s.textContent='  ';div.appendChild(s);continue;}
      var v=r.bin.charCodeAt(o-r.base);s.textContent=hx2(v);asc+=(v>=32&&v<127)?String.fromCharCode(v):'.';
      var u=unitAt(F,o),cls='b';
      if(u){var par=(u.index&1);cls+=(o<u.offset+u.header)?' h'+par:' p'+par;}
      if(F.sel&&o*8+7>=F.sel[0]&&o*8<F.sel[1])cls+=' sel';
      if(o===F.errByte)cls+=' err';
      s.className=cls;div.appendChild(s);
    }
    div.appendChild(el('span','a',asc));frag.appendChild(div);
  }
  F.rowsEl.appendChild(frag);
}

// #selftest: exercise the page (tests run it in a headless browser); #unit=N: open unit N.
function selftest(){
  var fields=0,units=0,bytesClicked=0;
  files.forEach(function(F){
    F.units.forEach(function(u){
      u.el.open=true;renderUnit(F,u.el);units++;
      data(u).sections.forEach(function(s,si){if(s[3].length){selectField(F,u,si,0,false);selectField(F,u,si,s[3].length-1,false);fields+=2;}});
      selectByte(F,u.offset);selectByte(F,Math.min(F.size-1,u.offset+u.size-1));bytesClicked+=2;
    });
    [0,F.size>>1,F.size-1].forEach(function(o){if(o>=0&&o<F.size){scrollToByte(F,o);selectByte(F,o);bytesClicked++;}});
    F.sec.querySelectorAll('table.tt tbody tr[data-tensor-name]').forEach(function(tr){selectTensor(F,tr);});
    F.sec.querySelectorAll('tr.violation').forEach(function(tr){selectViolation(F,tr);});
    F.sec.querySelectorAll('.hexrows span.b').forEach(function(s,k){if(k<3)s.click();});
    var se=F.sec.querySelector('.show-error');if(se)se.click();
  });
  root.setAttribute('data-selftest','ok units='+units+' fields='+fields+' bytes='+bytesClicked);
}
try{
  var h=location.hash;
  if(h==='#selftest')selftest();
  var m=/^#unit=(\d+)(?:,(\d+),(\d+))?$/.exec(h);
  if(m&&files.length){var F=files[0];F.units.forEach(function(u){if(u.index===+m[1]&&u.depth===0){openTo(u);renderUnit(F,u.el);
    if(m[2]!==undefined)selectField(F,u,+m[2],+m[3],true);}});}
}catch(e){report(e&&e.message||e);}
root.setAttribute('data-render','done');
root.setAttribute('data-ready-ms',String(Math.round(performance.now())));
})();
"""#
}
